#!/usr/bin/env bash
# Lab guest: the wedged-camera watchdog's USB reset on a real USB device (a dummy_hcd gadget: the reset path resolves
# its sysfs parent from a device node and libusb_reset_device re-enumerates it), then boothd's snapshot button
# (uinput KEY_CAMERA) and the no-frames watchdog on vivid (scripts/hwlab/camera-faults-client.py).
# Run by scripts/test.d/57-camera-faults-lab.sh through scripts/hwlab/run.sh.
set -uo pipefail
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null || true
export GST_REGISTRY=/tmp/gst-registry.bin
bin=${BUILD_DIR:?BUILD_DIR not set}
failures=0
pass() { echo "  ok   $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

echo "--- USB reset on a dummy_hcd gadget"
modprobe cdc_acm
bash scripts/hwlab/usb-gadget.sh up 1209 0002
for _ in $(seq 1 100); do [ -c /dev/ttyACM0 ] && break; sleep 0.1; done
usb=""
for d in /sys/bus/usb/devices/*; do [ "$(cat "$d/idVendor" 2>/dev/null)" = 1209 ] && usb=$d; done
if [ -z "$usb" ] || [ ! -c /dev/ttyACM0 ]; then
    fail "the gadget did not enumerate (usb=$usb)"
else
    bus=$(cat "$usb/busnum") addr=$(cat "$usb/devnum")
    dry=$(timeout 30 "$bin/boothctl" camera usb-reset --device /dev/ttyACM0 --dry-run)
    echo "$dry"
    if echo "$dry" | grep -q "USB $(basename "$usb") (bus $bus address $addr,"; then
        pass "sysfs: /dev/ttyACM0 → USB $(basename "$usb") bus $bus address $addr (the parent of the node's interface)"
    else
        fail "sysfs resolution: expected bus $bus address $addr"
    fi
    dmesg -C
    out=$(timeout 30 "$bin/boothctl" camera usb-reset --device /dev/ttyACM0)
    rc=$?
    echo "$out"
    for _ in $(seq 1 100); do [ -c /dev/ttyACM0 ] && dmesg | grep -q "cdc_acm.*ttyACM" && break; sleep 0.1; done
    dmesg | grep -E "reset|ttyACM" | head -5
    if [ "$rc" -eq 0 ] && dmesg | grep -q "reset .*USB device number $addr using dummy_hcd" \
        && [ "$(cat "$usb/idVendor" 2>/dev/null)" = 1209 ] && [ -c /dev/ttyACM0 ]; then
        pass "libusb_reset_device: $out; the kernel reset device $addr on dummy_hcd and cdc_acm bound it again"
    else
        fail "USB reset rc=$rc"
    fi
    bash scripts/hwlab/usb-gadget.sh unplug
fi

echo "--- snapshot button and no-frames watchdog"
timeout 500 .build/venv/bin/python scripts/hwlab/camera-faults-client.py "$bin/boothd" "$PWD" 2>&1 |
    tee "$HWLAB_OUT/camera-faults.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "camera faults client"
echo "camera faults lab: $failures failure(s)"
[ "$failures" -eq 0 ]
