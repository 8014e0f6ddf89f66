#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   1. installs every package it needs (scripts/deps.sh),
#   2. builds with warnings as errors and runs unit + integration tests
#      (the integration tests start their own PostgreSQL, Redis, Chat API
#      fixture, tarpits and the daemon on loopback),
#   3. builds again under AddressSanitizer + UndefinedBehaviorSanitizer and
#      runs the same suites against that build,
#   4. runs the libFuzzer target for the SQL lexer briefly (clang),
#   5. prints one closing line "tests: N passed, N failed".
# Options: --quick (skip the sanitizer pass), -k EXPR (pytest filter).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    -k) shift; pytest_args+=(-k "$1") ;;
    *) echo "usage: scripts/test.sh [--quick] [-k EXPR]" >&2; exit 2 ;;
  esac
  shift
done

scripts/deps.sh

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

setup() {  # setup DIR [meson options...]
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" -Dwerror=true "$@" >/dev/null
  else
    meson setup "$dir" -Dwerror=true "$@" >/dev/null
  fi
  ninja -C "$dir"
}

run_suite() {  # run_suite LABEL BUILD_DIR [pytest args...]
  local label=$1 dir=$2 rc=0
  shift 2
  echo "=== $label: unit tests"
  meson test -C "$dir" --suite unit --print-errorlogs || rc=1
  cp "$dir/meson-logs/testlog.json" "$results/$label-unit.json"
  echo "=== $label: integration tests"
  PREFLIGHTD_BIN="$PWD/$dir/preflightd" PROBE_ONCE_BIN="$PWD/$dir/tests/probe_once" \
    /usr/bin/python3 -m pytest -p no:cacheprovider -q tests/integration \
      --junitxml="$results/$label-integration.xml" "$@" "${pytest_args[@]}" || rc=1
  return $rc
}

status=0
echo "=== lint: file and function sizes, markers, whitespace (scripts/lint.py)"
if /usr/bin/python3 scripts/lint.py; then
  echo '{"result": "OK"}' > "$results/lint-unit.json"
else
  echo '{"result": "FAIL"}' > "$results/lint-unit.json"
  status=1
fi

setup build --buildtype=debugoptimized
echo "=== architecture: no include or call circle, rooms call only down (scripts/arch.py)"
if /usr/bin/python3 scripts/arch.py build; then
  echo '{"result": "OK"}' > "$results/arch-unit.json"
else
  echo '{"result": "FAIL"}' > "$results/arch-unit.json"
  status=1
fi
run_suite plain build || status=1

echo "=== valgrind: unit tests under memcheck"
meson test -C build --suite unit --print-errorlogs \
  --wrap='valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect' \
  || status=1
cp build/meson-logs/testlog.json "$results/valgrind-unit.json"

if [ $quick -eq 0 ]; then
  setup build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
  # valgrind cannot run a sanitizer build: test_valgrind.py uses build/.
  run_suite asan build-asan --deselect tests/integration/test_valgrind.py || status=1

  echo "=== fuzz: every parser under libFuzzer (scripts/fuzz.sh, ${FUZZ_SECONDS:-20} s a target)"
  if FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh > "$results/fuzz.log" 2>&1; then  # 6 targets x 20 s
    echo '{"result": "OK"}' > "$results/fuzz-unit.json"
    tail -n 3 "$results/fuzz.log"
  else
    echo '{"result": "FAIL"}' > "$results/fuzz-unit.json"
    tail -n 40 "$results/fuzz.log"
    status=1
  fi
fi

/usr/bin/python3 - "$results" <<'PY'
import glob, json, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
passed = failed = skipped = 0
for f in glob.glob(d + "/*-unit.json"):
    for line in open(f):
        r = json.loads(line).get("result")
        if r == "OK": passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
for f in glob.glob(d + "/*-integration.xml"):
    for s in ET.parse(f).getroot().iter("testsuite"):
        t, e, fl, sk = (int(s.get(k, 0)) for k in ("tests", "errors", "failures", "skipped"))
        failed += e + fl; skipped += sk; passed += t - e - fl - sk
print(f"tests: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
