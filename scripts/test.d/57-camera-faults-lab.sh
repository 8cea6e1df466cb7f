#!/usr/bin/env bash
# Camera faults in the virtual hardware lab: the wedged-camera USB reset on a dummy_hcd gadget (sysfs parent,
# libusb_reset_device, re-enumeration), the snapshot button (uinput KEY_CAMERA → artifact on the WebSocket) and
# the no-frames watchdog on vivid (dropped buffers → warning, recovery, error). ~3 min under TCG. Skips only if qemu cannot run.
set -euo pipefail
. "$(dirname "$0")/../lib/lab-step.sh"
lab_init "camera faults lab"
lab_build boothd
lab_venv websockets jsonschema
lab_require_qemu
lab_run 600 guest-camera-faults.sh
