#!/usr/bin/env bash
# Guest side of clock-jump-vm.sh: the real boothd while the VM's clock is stepped with `date -s`.
set -euo pipefail
ip link set lo up 2>/dev/null || true
"$PWD/.build/venv/bin/python" scripts/faults/clock_jump_daemon.py "$BUILD_DIR/boothd" --date-s 2>&1 | tee "$HWLAB_OUT/clock-jump.log"
