#!/usr/bin/env bash
# Vendor BLE protocol and passkey pairing in the virtual hardware lab: a simulated BerryMed oximeter (BCI frames as
# a byte stream on the transparent-UART service, from the public vectors) that requires passkey entry; `boothctl
# pair --passkey` with a wrong passkey fails with a clear error, with the right one bonds; boothd then reads the
# device through real bluetoothd and a Python websockets client checks SpO2/pulse, the report rate and the
# finger-out warning; then the same radio as a Wellue O2Ring (polled), a Jumper JPD-500F and a Yuwell YX110
# (frames of their profile traces, pulse stepped): values, device id and profile on the WebSocket. About 3.5 min.
set -euo pipefail
. "$(dirname "$0")/../lib/lab-step.sh"
lab_init "ble vendor lab"
lab_build boothd boothctl
lab_venv websockets
BLE_PYTHON=$LAB_PYTHON
export BLE_PYTHON
export LAB_STRICT=1  # the BLE suite must run in CI (#5): no skip
lab_require_qemu
# LAB_PASSKEY_NEEDED=1 adds the "passkey needed" check (the device's controller in SC-only mode for one pairing).
# Off by default since bluetoothd 5.66 segfaulted in the full rehearsals where it ran; it kept crashing without it
# (ble/vendor-lab.sh, docs/ble.md).
# The emulated controllers sometimes fail their setup (the known btvirt flake under TCG, see 60-ble-lab.sh), and
# bluetoothd 5.66 has segfaulted here (ble/vendor-lab.sh): two retries, each reported loudly; every check must pass
# in the run that counts.
HWLAB_PASS="BLE_PYTHON LAB_PASSKEY_NEEDED BLE_BLUETOOTHD_NOPLUGIN" LAB_LIVE=1 LAB_RETRIES=2 \
    LAB_RETRY_WHY="known btvirt flake under TCG, or bluetoothd 5.66 crashed (see ble/vendor-lab.sh)" \
    lab_run 560 ble/vendor-lab.sh
