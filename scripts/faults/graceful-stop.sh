#!/usr/bin/env bash
# Fault: graceful stop (SIGTERM) leaves outbox.sqlite and usage.sqlite self-contained (WAL checkpointed), data
# replayed after a restart; prints the shutdown times (about 20 s).
source "$(dirname "$0")/common.sh"
timeout 180 "$python" scripts/faults/graceful_stop.py "$BUILD_DIR/boothd" "$@"
