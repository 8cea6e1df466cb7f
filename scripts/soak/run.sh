#!/usr/bin/env bash
# Soak: a compressed 24 h booth day on the simulator. scripts/soak/run.sh [--minutes N] [--results DIR]
# Default 10 min (release build). CI runs --minutes 2 on the debug build (scripts/test.d/47-soak.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${BUILD_DIR:-}" ]; then
    scripts/release-build --product boothd >/dev/null
    BUILD_DIR=$(scripts/release-build --show-bin-path)
fi
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets" 2>/dev/null || "$venv/bin/pip" install -q websockets
minutes=10
for ((i = 1; i <= $#; i++)); do [ "${!i}" = "--minutes" ] && { j=$((i + 1)); minutes=${!j}; }; done
timeout $(( ${minutes%.*} * 60 + 180 )) "$venv/bin/python" scripts/soak/soak.py "$BUILD_DIR/boothd" "$@"
