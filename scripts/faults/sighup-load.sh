#!/usr/bin/env bash
# Fault: SIGHUP (systemctl reload) every 50 ms under load; nothing lost or duplicated (about 10 s).
#   scripts/faults/sighup-load.sh [RELOADS]
source "$(dirname "$0")/common.sh"
timeout 180 "$python" scripts/faults/sighup_load.py "$BUILD_DIR/boothd" "$PWD" "${1:-60}"
