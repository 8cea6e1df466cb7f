#!/usr/bin/env bash
# Every benchmark in one command; one JSON file per run; `compare` prints two runs side by side.
#   scripts/bench/all.sh [--fast] [--results DIR] [--only daemon,api,video,audio,ecg] [--lab] [--build-dir DIR]
#   scripts/bench/all.sh compare latest previous        (or run ids / file paths)
# Default results directory: .build/bench-results/. See docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 scripts/bench/all.py "$@"
