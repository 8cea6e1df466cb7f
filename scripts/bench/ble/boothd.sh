#!/usr/bin/env bash
# BLE latency on boothd's own path, inside the virtual hardware lab (qemu TCG; figures are upper bounds):
#  - advertisement -> first measurement on the session WebSocket (device switched on again, boothd reconnects,
#    reads DIS/battery, subscribes, first PLX reading delivered through SafeRecorder -> outbox -> WebSocket);
#  - notification -> WebSocket: the device app's log time of each PLX value to the websockets client receiving it
#    (same guest, CLOCK_MONOTONIC), median / p95 / max over every reading of the run.
# It runs the lab end-to-end step (scripts/test.d/61-ble-boothd-lab.sh) and prints its "figure:" lines.
set -euo pipefail
cd "$(dirname "$0")/../../.."
scripts/test.d/61-ble-boothd-lab.sh | grep -E '^figure:|^FAIL|^ble boothd e2e:|^hwlab: boothd-lab'
