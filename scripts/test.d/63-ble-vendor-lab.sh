#!/usr/bin/env bash
# Vendor BLE protocol and passkey pairing in the virtual hardware lab: a simulated BerryMed oximeter (BCI frames as
# a byte stream on the transparent-UART service, from the public vectors) that requires passkey entry; `boothctl
# pair --passkey` with a wrong passkey fails with a clear error, with the right one bonds; boothd then reads the
# device through real bluetoothd and a Python websockets client checks SpO2/pulse, the report rate and the
# finger-out warning; then the same radio as a Wellue O2Ring (polled), a Jumper JPD-500F and a Yuwell YX110
# (frames of their profile traces, pulse stepped): values, device id and profile on the WebSocket. About 3.5 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BUILD_DIR:=$(swift build --show-bin-path)}"
export BUILD_DIR
[ -x "$BUILD_DIR/boothd" ] || swift build --product boothd
[ -x "$BUILD_DIR/boothctl" ] || swift build --product boothctl
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets" 2>/dev/null || "$venv/bin/pip" install -q websockets
BLE_PYTHON=$PWD/$venv/bin/python
export BLE_PYTHON
scripts/hwlab/setup.sh
# LAB_PASSKEY_NEEDED=1 adds the "passkey needed" check (the device's controller in SC-only mode for one pairing).
# Off by default: in both full rehearsals of 2026-11-26 bluetoothd 5.66 then segfaulted in the guest at the end of
# the BerryMed part (0 in 2 runs of the step alone); see docs/ble.md.
# The emulated controllers sometimes fail their setup (the known btvirt flake under TCG, see 60-ble-lab.sh): one
# retry, reported loudly; every check must pass in the run that counts.
if ! HWLAB_PASS="BLE_PYTHON LAB_PASSKEY_NEEDED" HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-560} scripts/hwlab/run.sh scripts/hwlab/ble/vendor-lab.sh
then
    echo "ble vendor lab: FIRST RUN FAILED (see above); retrying once"
    HWLAB_PASS="BLE_PYTHON LAB_PASSKEY_NEEDED" HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-560} scripts/hwlab/run.sh scripts/hwlab/ble/vendor-lab.sh
fi
