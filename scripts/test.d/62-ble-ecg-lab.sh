#!/usr/bin/env bash
# ECG over Bluetooth LE in the virtual hardware lab: `boothctl ecg record` (BoothBlueZ over GDBus, PolarPMDRecorder)
# records 20 s from the lab peripheral serving Heart Rate + the Polar PMD ECG service (scripts/hwlab/ble/
# ecg_service.py, synthetic ECG at 72 /min) through a real bluetoothd inside a qemu guest; checks sample count and
# mean heart rate. About 1.5 min on 2 cores.
set -euo pipefail
. "$(dirname "$0")/../lib/lab-step.sh"
lab_init "ble-ecg-lab"
lab_build boothctl
export LAB_STRICT=1  # the BLE suite must run in CI (#5): no skip
lab_require_qemu
# The emulated controllers sometimes fail their setup or never see the advertisement (the known btvirt flake under
# TCG, see 60-ble-lab.sh): one retry, reported loudly; every check must pass in the run that counts.
LAB_LIVE=1 LAB_RETRIES=1 LAB_RETRY_WHY="known btvirt flake under TCG (see 60-ble-lab.sh)" \
    lab_run 480 ble/ecg-lab-test.sh
