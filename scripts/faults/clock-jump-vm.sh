#!/usr/bin/env bash
# Fault: the real boothd while the machine's wall clock is stepped with `date -s` (back 1 h during a session,
# forward 48 h, back to true time), inside the lab VM (scripts/hwlab; about 1 min). Checks: scripts/faults/
# clock_jump_daemon.py (timers keep running, order, session binding, no loss, no error logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
export BUILD_DIR
[ -x "$BUILD_DIR/boothd" ] || swift build --product boothd
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets" 2>/dev/null || "$venv/bin/pip" install -q websockets
scripts/hwlab/setup.sh >/dev/null
HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-420} scripts/hwlab/run.sh scripts/faults/guest-clock-jump.sh | grep -E "^  (ok|FAIL)|fault:|per phase|hwlab:"
