#!/usr/bin/env bash
# The daemon's benchmark: builds the release binaries and runs
# bench/daemon_window.py against qtriage-sim (a 200,000-message window with
# the rate limit scaled down). Takes a few minutes. Usage:
#   bash bench/daemon_window.sh [--messages N] [--scale S]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release qtriage qtriage-sim >/dev/null
exec python3 bench/daemon_window.py build/release "$@"
