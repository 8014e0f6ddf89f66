#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang in build-fuzz and
# runs each one for FUZZ_SECONDS, seeded from tests/fuzz/corpus/<target>/
# (fuzz_sql_lexer: tests/fixtures/migrations/chat).  A crash, leak, timeout or
# OOM in any target makes the script fail; libFuzzer leaves the input that
# did it in build-fuzz/<target>-crash-* (or leak-*, timeout-*, oom-*).
#   scripts/fuzz.sh                      60 s per target
#   FUZZ_SECONDS=10 scripts/fuzz.sh      10 s per target
#   scripts/fuzz.sh fuzz_config          one target
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-60}
# target:max_len — inputs a little larger than the biggest realistic one.
all="fuzz_sql_lexer:8192 fuzz_config:8192 fuzz_redis_url:512
fuzz_chat_json:4096 fuzz_redact:1024 fuzz_pg_expect:1024"
want=("$@")

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dwerror=true >/dev/null
fi

selected=()
for entry in $all; do
  name=${entry%%:*}
  if [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" $name "* ]]; then
    selected+=("$entry")
  fi
done
if [ ${#selected[@]} -eq 0 ]; then
  echo "fuzz.sh: no such target: $*" >&2
  exit 2
fi

ninja -C build-fuzz $(for e in "${selected[@]}"; do echo "tests/fuzz/${e%%:*}"; done)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs one target on a scratch copy of its seeds (the corpus it grows is
# thrown away, so the checkout stays clean).
run() {
  local name=$1 max_len=$2
  mkdir "$work/$name"
  if [ "$name" = fuzz_sql_lexer ]; then
    cp tests/fixtures/migrations/chat/*.sql "$work/$name/"
  else
    cp tests/fuzz/corpus/"$name"/* "$work/$name/"
  fi
  local dict=()
  case $name in
    fuzz_config|fuzz_chat_json) dict=(-dict=tests/fuzz/json.dict) ;;
  esac
  echo "=== $name: ${secs} s, max_len $max_len"
  local rc=0
  "build-fuzz/tests/fuzz/$name" "${dict[@]}" -max_total_time="$secs" -max_len="$max_len" \
    -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$PWD/build-fuzz/$name-" "$work/$name" \
    > "$work/$name.log" 2>&1 || rc=$?
  # progress lines are noise; findings and final stats are kept
  sed -e '/^###### Recommended dictionary/,/^###### End of recommended/d' \
    "$work/$name.log" | grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' || true
  return "$rc"
}

failed=()
for entry in "${selected[@]}"; do
  run "${entry%%:*}" "${entry##*:}" || failed+=("${entry%%:*}")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs in build-fuzz/)" >&2
  exit 1
fi
echo "fuzz.sh: all ${#selected[@]} targets ran ${secs} s without a finding"
