#!/usr/bin/env bash
# Bluetooth LE in the virtual hardware lab: boothctl (BoothBlueZ over GDBus) against a simulated medical device
# (scripts/hwlab/ble/peripheral.py) through a real bluetoothd, inside a qemu guest. About 1.5-2 min on 2 cores:
# boot ~10 s, Bluetooth stack ~10 s, scan + pair + connect/notify/switch-off/bluetoothd-restart ~60 s.
set -euo pipefail
. "$(dirname "$0")/../lib/lab-step.sh"
lab_init "ble-lab"
lab_build boothctl
# The BLE suite must run in CI (#5): a lab that cannot run fails the step instead of skipping it.
export LAB_STRICT=1
lab_require_qemu
# Known issue: after a bluetoothd restart the reconnect sometimes failed (about 1 run in 3 under TCG), two ways:
# - "has no characteristic": ServicesResolved was seen before the GATT objects' InterfacesAdded; fixed
#   (BlueZCentral.connect waits for the device's characteristics, else disconnects and retries);
# - every Connect fails with "Input/output error" while bluetoothd logs "ATT bt_io_connect(...): Cannot allocate
#   memory (12)" (the kernel refuses the L2CAP connect; both controllers share the restarted bluetoothd): not
#   fixed. One retry, reported loudly, keeps CI meaningful: every check, the restart included, must pass in the
#   run that counts.
LAB_LIVE=1 LAB_RETRIES=1 LAB_RETRY_WHY="known emulated-controller flake after bluetoothd restart" \
    lab_run 420 ble/lab-test.sh
