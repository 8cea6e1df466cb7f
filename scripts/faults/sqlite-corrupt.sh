#!/usr/bin/env bash
# Fault: outbox.sqlite overwritten with garbage while boothd is stopped and while it runs (about 15 s).
source "$(dirname "$0")/common.sh"
timeout 180 "$python" scripts/faults/sqlite_corrupt.py "$BUILD_DIR/boothd"
