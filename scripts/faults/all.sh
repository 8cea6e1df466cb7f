#!/usr/bin/env bash
# The fast fault suite (what CI runs via scripts/test.d/45-faults.sh, about a minute): SQLite corruption, SIGHUP
# under load, graceful stop (WAL checkpointed). The Swift fault tests (power cycling, clock jumps) run with `swift test`; add --swift to run them here.
# The lab faults (camera unplug/replug, bluetoothd restart) and kill -9 replay are elsewhere: docs/reliability.md.
set -euo pipefail
here=$(dirname "$0")
"$here/sqlite-corrupt.sh"
"$here/sighup-load.sh"
"$here/graceful-stop.sh"
if [ "${1:-}" = "--swift" ]; then
    "$here/power-cycle.sh"
    "$here/clock-jump.sh"
fi
