#!/usr/bin/env bash
# USB in the virtual hardware lab: a dummy_hcd gadget poses as the CMS50D+ cable and plays its trace; udev rules,
# libusb enumeration/hotplug, the serial link at 19200 8O1, HID through libusb and unplug mid-reading are checked
# (scripts/hwlab/guest-usb-serial.sh). ~2.5 min under TCG.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x scripts/hwlab/run.sh ]; then
    echo "SKIP: scripts/hwlab/run.sh (the lab runner, from the ble branch) is not in this tree"
    exit 0
fi
export BUILD_DIR="${BUILD_DIR:-$(swift build --show-bin-path)}"
# The guest runs the host's udevd and usbutils (its root is the host's, read-only).
export HWLAB_EXTRA_PACKAGES="${HWLAB_EXTRA_PACKAGES:-} udev usbutils"
HWLAB_TIMEOUT=300 scripts/hwlab/run.sh scripts/hwlab/guest-usb-serial.sh
