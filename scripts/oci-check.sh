#!/usr/bin/env bash
# Builds the container image from the Dockerfile without a Docker engine
# (../shared/tools/oci-build: buildah + a local debian:12-slim base) and
# proves it runs as its non-root user: `preflightd --version`, then
# `preflightd check` inside the image against a Redis on the host's loopback
# (one passing run, one against a refused port that must exit 1).
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
echo "oci-check: image $tag OK (user $user)"
