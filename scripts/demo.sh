#!/usr/bin/env bash
# The newcomer's first command: installs what it needs, builds preflightd,
# starts a local PostgreSQL (mobius_chat and mobius_rag migrated), a local
# Redis and the Chat API fixture with its worker, runs preflightd from the
# services' environment alone, shows /status and the checklist, then drops a
# table so you see a failure with its fix, and restores it.
#   scripts/demo.sh            the tour (about a minute), then everything stops
#   scripts/demo.sh --serve    keep the services and the daemon running until Ctrl-C
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --demo
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized >/dev/null
ninja -C build >/dev/null
exec /usr/bin/python3 scripts/demo.py "$@"
