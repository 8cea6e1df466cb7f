#!/usr/bin/env bash
# ECG over Bluetooth LE in the virtual hardware lab: `boothctl ecg record` (BoothBlueZ over GDBus, PolarPMDRecorder)
# records 20 s from the lab peripheral serving Heart Rate + the Polar PMD ECG service (scripts/hwlab/ble/
# ecg_service.py, synthetic ECG at 72 /min) through a real bluetoothd inside a qemu guest; checks sample count and
# mean heart rate. About 1.5 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BUILD_DIR:=$(swift build --show-bin-path)}"
export BUILD_DIR
[ -x "$BUILD_DIR/boothctl" ] || swift build --product boothctl
scripts/hwlab/setup.sh
# The emulated controllers sometimes fail their setup or never see the advertisement (the known btvirt flake under
# TCG, see 60-ble-lab.sh): one retry, reported loudly; every check must pass in the run that counts.
if ! HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-480} scripts/hwlab/run.sh scripts/hwlab/ble/ecg-lab-test.sh; then
    echo "ble-ecg-lab: FIRST RUN FAILED (see above); retrying once"
    HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-480} scripts/hwlab/run.sh scripts/hwlab/ble/ecg-lab-test.sh
fi
