#!/usr/bin/env bash
# Side-by-side comparison of preflightd with the tools users would run
# instead (prometheus-blackbox-exporter, nginx-light, monit, pg_isready,
# psql): one interleaved run, ratios at the end (bench/compare/compare.py).
#   PREFLIGHTD_BIN=build-bench/preflightd bench/compare/run.sh           # ~6-8 min
#   PREFLIGHTD_BIN=build-bench/preflightd bench/compare/run.sh --quick   # < 1 min
# Needs scripts/deps.sh --bench.  Loopback only; every server and temp dir
# is removed on exit, Ctrl-C or failure.  A hard limit (SIGINT to the
# python process only, so its clean-up stops the servers) bounds the run.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PREFLIGHTD_BIN="${PREFLIGHTD_BIN:-build-bench/preflightd}"
limit=720
case " $* " in *" --quick "*) limit=120 ;; esac
exec timeout --foreground -s INT -k 30 "$limit" /usr/bin/python3 bench/compare/compare.py "$@"
