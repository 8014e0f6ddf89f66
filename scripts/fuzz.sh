#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz and runs each one
# briefly, seeded with the migration corpus.  A crash, leak or timeout makes
# the script fail (libFuzzer exits non-zero and leaves crash-* files).
#   scripts/fuzz.sh             60 s per target
#   FUZZ_SECONDS=10 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-60}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz >/dev/null
fi
ninja -C build-fuzz tests/fuzz/fuzz_sql_lexer

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp tests/fixtures/migrations/*.sql "$work/corpus/"

build-fuzz/tests/fuzz/fuzz_sql_lexer -max_total_time="$secs" -max_len=8192 \
  -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
  -artifact_prefix="$PWD/build-fuzz/" "$work/corpus"
