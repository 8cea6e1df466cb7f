#!/usr/bin/env bash
# Camera faults in the virtual hardware lab: the wedged-camera USB reset on a dummy_hcd gadget (sysfs parent,
# libusb_reset_device, re-enumeration), the snapshot button (uinput KEY_CAMERA → artifact on the WebSocket) and
# the no-frames watchdog on vivid (dropped buffers → warning, recovery, error). ~3 min under TCG. Skips only if qemu cannot run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
export BUILD_DIR
[ -x "$BUILD_DIR/boothd" ] || swift build --product boothd 2>&1 | tail -1
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
if ! scripts/hwlab/setup.sh >/dev/null 2>&1 || ! command -v qemu-system-x86_64 >/dev/null \
    || [ -z "$(ls /boot/vmlinuz-* 2>/dev/null)" ]; then
    echo "camera faults lab: SKIPPED: qemu or a guest kernel cannot be installed here"
    exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-600} scripts/hwlab/run.sh scripts/hwlab/guest-camera-faults.sh >"$log" 2>&1
rc=$?
set -e
grep -E "^  ok |^FAIL|camera faults|hwlab:|Traceback|Error" "$log" || true
if [ "$rc" -eq 125 ] && ! grep -q "guest up" "$log"; then
    echo "camera faults lab: SKIPPED: the VM did not boot; console tail:"
    tail -5 "$log"
    exit 0
fi
if [ "$rc" -ne 0 ]; then
    echo "camera faults lab: FAILED (rc=$rc); log tail:"
    tail -40 "$log"
    exit 1
fi
echo "camera faults lab: passed"
