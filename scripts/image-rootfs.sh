#!/usr/bin/env bash
# Lays out the container image's whole file system in ROOTFS: the tree
# `meson install --destdir DESTDIR` made, every shared library the binary
# loads (its ldd closure, each at the path the loader resolved it to, plus
# the loader), the CA bundle libcurl and libpq verify TLS peers with, and
# the passwd/group/nsswitch entries glibc and libpq read.  The Dockerfile's
# runtime stage is `FROM scratch` plus this tree: no shell, no package
# manager, nothing the daemon does not load (SPEC §8 image).
#   scripts/image-rootfs.sh DESTDIR ROOTFS
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DESTDIR ROOTFS" >&2; exit 2; }
dest=$1 root=$2
bin=$dest/usr/local/bin/preflightd
[ -x "$bin" ] || { echo "image-rootfs: no binary at $bin (run meson install first)" >&2; exit 1; }
mkdir -p "$root"
cp -a "$dest"/. "$root"/

# ldd prints "name => /path (addr)" for each library and "/path (addr)" for
# the loader; the vdso has no path.  cp -L copies the file a soname link
# points at under the soname itself, which is all the loader looks for.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ -n "$libs" ] || { echo "image-rootfs: ldd found no libraries for $bin" >&2; exit 1; }
for lib in $libs; do
  cp -L --parents "$lib" "$root"/
done

# TLS trust for http(s) checks and sslmode=verify-* (Debian's bundle path,
# which Debian's libcurl and OpenSSL are built to read).
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "image-rootfs: $ca missing (install ca-certificates)" >&2; exit 1; }
cp -L --parents "$ca" "$root"/

# libpq looks the effective uid up for the default user name; an unknown
# uid is an error there even when the URL names a user.  hosts: files
# first so "localhost" never goes to DNS.
mkdir -p "$root"/etc "$root"/tmp
chmod 1777 "$root"/tmp
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' >"$root"/etc/passwd
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root"/etc/group
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root"/etc/nsswitch.conf
# Runtimes mount their own /etc/hosts; this one serves a bare chroot.
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root"/etc/hosts
