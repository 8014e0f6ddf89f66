#!/usr/bin/env bash
# Runs every benchmark of SPEC §9 in sequence (each bounded < 3 min) and
# prints their RESULT lines at the end.  Uses PREFLIGHTD_BIN (default
# build/preflightd); exit 1 when any bar is missed.
#   PREFLIGHTD_BIN=build-bench/preflightd bench/run_all.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export PREFLIGHTD_BIN="${PREFLIGHTD_BIN:-build/preflightd}"
log=$(mktemp /tmp/pf-bench-XXXXXX.log)
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT TERM
rc=0
echo "== start (load average: $(cut -d" " -f1-3 /proc/loadavg))"
for b in status_under_hang status_vs_nginx scale_1000 time_to_detect; do
  echo "== $b"
  timeout 180 /usr/bin/python3 "bench/$b.py" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
echo "== summary ($PREFLIGHTD_BIN, load average: $(cut -d" " -f1-3 /proc/loadavg))"
grep '^RESULT' "$log"
exit $rc
