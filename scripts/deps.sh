#!/usr/bin/env bash
# The one list of system packages preflightd needs: to build, to test, to
# run the demo. Every other script (test, demo, CI, Dockerfile) calls this.
#   scripts/deps.sh            build + test + demo packages
#   scripts/deps.sh --build    only what the build needs (Dockerfile stage)
#   scripts/deps.sh --demo     the build plus the servers the demo starts
#   scripts/deps.sh --bench    also the benchmark tools (wrk, nginx)
set -euo pipefail

BUILD=(build-essential meson ninja-build pkg-config
       libevent-dev libpq-dev libhiredis-dev libcurl4-openssl-dev libcjson-dev
       libssl-dev
       ca-certificates)  # the image's CA bundle is copied from the build stage
TEST=(postgresql postgresql-contrib redis-server prometheus
      python3 python3-pytest python3-yaml python3-jsonschema valgrind clang
      libclang-rt-14-dev
      curl systemd iproute2 procps openssl chromium perl
      man-db groff-base)
BENCH=(wrk nginx-light prometheus-blackbox-exporter monit)
# What scripts/demo.sh starts (a subset of TEST: a newcomer's first command
# should not wait for compilers and analysers it does not use).
DEMO=(postgresql redis-server python3 python3-pytest)

want=("${BUILD[@]}")
case "${1:-}" in
  --build) ;;
  --demo) want+=("${DEMO[@]}") ;;
  --bench) want+=("${TEST[@]}" "${BENCH[@]}") ;;
  *) want+=("${TEST[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
