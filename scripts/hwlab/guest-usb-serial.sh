#!/usr/bin/env bash
# Lab guest (run by scripts/hwlab/run.sh): a dummy_hcd gadget poses as the Contec CMS50D+ cable (10c4:ea60) with a
# CDC-ACM serial function and a HID function, playing the profile's trace. Checks, with the freshly built boothctl:
# udev rules generated from the profiles (group, /dev/booth link), libusb enumeration + hotplug matched to the
# profile, the serial link at the profile's 19200 8O1 reading the trace end to end, the HID interface read through
# libusb, and an unplug in the middle of a reading.
set -uo pipefail
bin=${BUILD_DIR:?BUILD_DIR not set}
out=${HWLAB_OUT:-/tmp}
lab=scripts/hwlab
trace=firmware-profiles/traces/contec-cms50dplus-live.trace
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# udev with the rules generated from the profiles, and the group they give devices to.
grep -q '^boothd:' /etc/group || echo "boothd:x:990:" >>/etc/group
mkdir -p /etc/udev/rules.d /run/udev
cp udev/70-boothd.rules /etc/udev/rules.d/
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add >/dev/null 2>&1
udevadm settle --timeout=30

modprobe dummy_hcd && modprobe libcomposite || { fail "dummy_hcd/libcomposite unavailable"; exit 1; }
# The kernel's cp210x driver would claim every interface of a 10c4:ea60 device, HID included (on a real CMS50D+
# cable it is what provides /dev/ttyUSB0); the lab device speaks CDC-ACM, so keep cp210x away.
echo "install cp210x /bin/false" >/etc/modprobe.d/boothlab-no-cp210x.conf
# Waits until the probe has opened its device, so no trace byte is sent before anyone listens.
wait_for() { for _ in $(seq 1 300); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
timeout 240 "$bin/boothctl" profiles watch-usb --dir firmware-profiles --seconds 200 >"$out/watch.log" 2>&1 &
watcher=$!
sleep 5
bash $lab/usb-gadget.sh up 10c4 ea60
udevadm settle --timeout=30
sleep 1

echo "--- /dev/booth"
ls -l /dev/booth/ 2>&1
tty=$(ls /dev/booth/contec.cms50dplus-ttyACM* 2>/dev/null | head -1)
if [ -n "$tty" ] && [ "$(stat -L -c %G "$tty")" = boothd ] && [ "$(stat -L -c %a "$tty")" = 660 ]; then
    pass "udev: $tty -> $(readlink -f "$tty"), group boothd, mode 0660 (rules generated from the profile)"
else
    fail "udev: no /dev/booth link with group boothd for the CMS50 cable"
    tty=/dev/ttyACM0
fi

echo "--- scan-usb"
timeout 60 "$bin/boothctl" profiles scan-usb --dir firmware-profiles | tee "$out/scan.log"
if grep -q "10c4:ea60.*→ contec.cms50dplus" "$out/scan.log"; then pass "libusb enumeration: 10c4:ea60 claimed by contec.cms50dplus"; else fail "scan-usb did not match the CMS50 cable"; fi

echo "--- serial end to end"
(wait_for "^opened" "$out/serial.log" && timeout 20 bash $lab/play-trace.sh "$trace" /dev/ttyGS0 serial) &
player=$!
timeout 60 "$bin/boothctl" profiles probe --dir firmware-profiles contec.cms50dplus "$tty" --expect-trace --seconds 30 | tee "$out/serial.log"
rc=${PIPESTATUS[0]}
wait "$player"
if [ "$rc" -eq 0 ] && grep -q "19200 8O1" "$out/serial.log" && grep -q "trace match" "$out/serial.log"; then
    pass "serial: trace read through SerialPortLink at 19200 8O1 on $tty"
else
    fail "serial probe rc=$rc"
fi

echo "--- HID through libusb"
hid=""
for intf in /sys/bus/usb/devices/*:*; do
    [ "$(cat "$intf/bInterfaceClass" 2>/dev/null)" = 03 ] || continue
    name=$(basename "$intf")
    device=/sys/bus/usb/devices/${name%%:*}
    [ "$(cat "$device/idVendor")" = 10c4 ] || continue
    hid="usb:$(cat "$device/busnum"):$(cat "$device/devnum"):$((10#$(cat "$intf/bInterfaceNumber")))"
done
echo "HID interface: ${hid:-none}"
(wait_for "^claimed" "$out/hid.log" && timeout 20 bash $lab/play-trace.sh "$trace" /dev/hidg0 hid) &
player=$!
timeout 60 "$bin/boothctl" profiles probe --dir $lab/profiles lab.hid-oximeter "$hid" --expect-trace --seconds 30 | tee "$out/hid.log"
rc=${PIPESTATUS[0]}
wait "$player"
if [ "$rc" -eq 0 ] && grep -q "trace match" "$out/hid.log"; then pass "hid: interrupt IN reports read through libusb"; else fail "hid probe rc=$rc"; fi

echo "--- unplug mid-reading"
(wait_for "^opened" "$out/unplug.log" && timeout 5 bash -c "printf '\\x87\\x32\\x05' >/dev/ttyGS0" && sleep 1 &&
    bash $lab/usb-gadget.sh unplug) &
player=$!
timeout 60 "$bin/boothctl" profiles probe --dir firmware-profiles contec.cms50dplus "$tty" --seconds 30 --bytes 1000 | tee "$out/unplug.log"
rc=${PIPESTATUS[0]}
wait "$player"
if [ "$rc" -eq 3 ] && grep -q "unplugged: .*device disconnected" "$out/unplug.log" && grep -q "< 873205" "$out/unplug.log"; then
    pass "unplug: bytes before the unplug delivered, then 'device disconnected' (exit 3)"
else
    fail "unplug rc=$rc"
fi

echo "--- replug"
wait_for "^left " "$out/watch.log" || echo "no departure event yet"
timeout 10 bash $lab/usb-gadget.sh replug
for _ in $(seq 1 100); do [ "$(grep -c "arrived .*10c4:ea60" "$out/watch.log")" -ge 2 ] && break; sleep 0.2; done
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
echo "--- hotplug"
cat "$out/watch.log"
if [ "$(grep -c "arrived .*10c4:ea60.*→ contec.cms50dplus" "$out/watch.log")" -ge 2 ] && grep -q "^left " "$out/watch.log"; then
    pass "hotplug: arrival matched to contec.cms50dplus, departure on unplug, arrival again on replug"
else
    fail "hotplug events missing"
fi
echo "usb lab: $failures failure(s)"
[ "$failures" -eq 0 ]
