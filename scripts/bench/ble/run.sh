#!/usr/bin/env bash
# BLE latency inside the virtual hardware lab (qemu TCG; figures are upper bounds): advertisement to first
# measurement, and per-notification latency from the device's GATT app to boothctl. Prints "ble bench:" lines.
#   scripts/bench/ble/run.sh      (BLE_BENCH_SAMPLES=40 notifications by default)
set -euo pipefail
cd "$(dirname "$0")/../../.."
swift build --product boothctl
BUILD_DIR=$(swift build --show-bin-path)
export BUILD_DIR
scripts/hwlab/setup.sh
HWLAB_PASS="BLE_BENCH_SAMPLES" HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-420} scripts/hwlab/run.sh scripts/hwlab/ble/bench.sh |
    grep -E '^ble bench:|^hwlab:|^ble stack:'
