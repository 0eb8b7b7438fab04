#!/usr/bin/env bash
# Builds everything and runs every test (unit, integration against
# qtriage-sim, and the Prism conformance check). What CI runs.
# Usage: scripts/test.sh [PRESET]   (dev by default; asan-ubsan for the sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
bash scripts/build.sh "$preset"
ctest --preset "$preset" -j "$(nproc)"
