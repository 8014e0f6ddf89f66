#!/usr/bin/env bash
# Builds the container image from the Dockerfile without a Docker engine
# (../shared/tools/oci-build: buildah + a local debian:12-slim base) and
# proves it runs as its non-root user: `preflightd --version`, then
# `preflightd check` inside the image against a Redis on the host's loopback
# (one passing run, one against a refused port that must exit 1), that the
# image is under 100 MB with no shell, and that the daemon in it answers
# /readyz 200 within 500 ms of exec with three local checks.
# Takes minutes: deliberately not part of scripts/test.sh.
#   scripts/oci-check.sh [TAG]        (OCI_BUILD=path overrides the tool)
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-localhost/preflightd:check}
tool=${OCI_BUILD:-$(command -v oci-build || true)}
for cand in ../shared/tools/oci-build /work/shared/tools/oci-build; do
  if [ -z "$tool" ] && [ -x "$cand" ]; then tool=$cand; fi
done
[ -n "$tool" ] || { echo "oci-check: oci-build not found (set OCI_BUILD)" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "oci-check: redis-server missing (scripts/deps.sh)" >&2; exit 2; }

echo "== build + preflightd --version (as the image's USER)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$tool" . "$tag" -- /usr/local/bin/preflightd --version 2>&1 | tee "$log"
out=$(tail -n 5 "$log")
rm -f "$log"
user=$(sed -n 's/^image: .* user: \([^ ]*\) .*/\1/p' <<<"$out")
case "$user" in
  ''|0|0:*|*[!0-9:]*) echo "oci-check: image user '$user' is not a numeric non-root id" >&2; exit 1 ;;
esac
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)
grep -v '^image: ' <<<"$out" | grep -qF "$version" ||
  { echo "oci-check: --version did not print $version" >&2; exit 1; }

B=(buildah --storage-driver vfs)
port=$(/usr/bin/python3 -c 'import random; print(random.randint(20000, 32000))')
dead=$((port + 1))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
redis_pid=$!
c=$("${B[@]}" from "$tag")
cleanup() { kill "$redis_pid" 2>/dev/null || true; "${B[@]}" rm "$c" >/dev/null 2>&1 || true; }
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

run() {  # run URL -> exit status of `preflightd check` inside the image
  local rc=0
  "${B[@]}" run --isolation chroot --user "$user" --env "REDIS_URL=$1" "$c" -- \
    /usr/local/bin/preflightd check --format text || rc=$?
  return $rc
}

echo "== preflightd check against redis on 127.0.0.1:$port (must pass)"
run "redis://127.0.0.1:$port/0" || { echo "oci-check: check failed against a live Redis" >&2; exit 1; }
echo "== preflightd check against a refused port (must exit 1)"
rc=0; run "redis://127.0.0.1:$dead/0" || rc=$?
[ "$rc" -eq 1 ] || { echo "oci-check: expected exit 1, got $rc" >&2; exit 1; }

echo "== image size (budget 100 MB)"
mnt=$("${B[@]}" mount "$c")
bytes=$(du -sb "$mnt" | cut -f1)
shell=no; [ -e "$mnt/bin/sh" ] || [ -e "$mnt/usr/bin/sh" ] && shell=yes
"${B[@]}" umount "$c" >/dev/null
[ "$shell" = no ] || { echo "oci-check: the image has a shell; the runtime stage should not" >&2; exit 1; }
echo "image file system: $((bytes / 1024 / 1024)) MB"
[ "$bytes" -lt $((100 * 1024 * 1024)) ] || { echo "oci-check: image is $bytes bytes, over 100 MB" >&2; exit 1; }

echo "== first /readyz 200 with three local checks (budget 500 ms from exec)"
listen=$((port + 2)) web=$((port + 3))
cfgdir=$(mktemp -d)
cat >"$cfgdir/preflightd.json" <<JSON
{"listen": "127.0.0.1:$listen", "checks": [
  {"name": "redis", "kind": "redis", "url": "redis://127.0.0.1:$port/0"},
  {"name": "redis-port", "kind": "tcp", "address": "127.0.0.1:$port"},
  {"name": "web", "kind": "http", "url": "http://127.0.0.1:$web/"}]}
JSON
chmod -R a+rX "$cfgdir"
/usr/bin/python3 -m http.server "$web" --bind 127.0.0.1 --directory "$cfgdir" >/dev/null 2>&1 &
web_pid=$!
cleanup() {
  kill "$redis_pid" "$web_pid" ${daemon_pid:-} 2>/dev/null || true
  "${B[@]}" rm "$c" >/dev/null 2>&1 || true
  rm -rf "$cfgdir"
}
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$web/" >/dev/null && break; sleep 0.1; done
ms=$(/usr/bin/python3 - "$listen" "${B[@]}" run --isolation chroot --user "$user" \
       --volume "$cfgdir:/etc/preflightd:ro" "$c" -- \
       /usr/local/bin/preflightd --config /etc/preflightd/preflightd.json <<'PY'
import subprocess, sys, time, urllib.request, urllib.error
port, argv = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ms = None
while time.monotonic() - t0 < 10 and proc.poll() is None:
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s/readyz" % port, timeout=1) as r:
            if r.status == 200:
                ms = (time.monotonic() - t0) * 1000
                break
    except (urllib.error.URLError, OSError):
        pass
    time.sleep(0.005)
proc.terminate()
try:
    proc.wait(5)
except subprocess.TimeoutExpired:
    proc.kill()
print("none" if ms is None else "%.0f" % ms)
PY
)
echo "first /readyz 200: $ms ms after exec (buildah run included)"
[ "$ms" != none ] && [ "$ms" -lt 500 ] || { echo "oci-check: first /readyz 200 not within 500 ms" >&2; exit 1; }
echo "oci-check: image $tag OK (user $user, $((bytes / 1024 / 1024)) MB, first /readyz ${ms} ms)"
