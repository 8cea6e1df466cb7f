#!/usr/bin/env bash
# boothd process benchmark: start-to-READY (warm, NOTIFY_SOCKET listener), RSS idle on the simulator (with/without
# the camera, MALLOC_ARENA_MAX=2) and under load (10 clients). Prints figures and one "bench-json:" line.
#   scripts/bench/daemon/run.sh [--fast]        (BUILD_DIR selects the binaries; default: release build)
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ -z "${BUILD_DIR:-}" ]; then
    scripts/release-build --product boothd >/dev/null
    BUILD_DIR=$(scripts/release-build --show-bin-path)
fi
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets" 2>/dev/null || "$venv/bin/pip" install -q websockets
timeout 600 "$venv/bin/python" scripts/bench/daemon/daemon_bench.py "$BUILD_DIR/boothd" "$@"
