# Guest script (run by scripts/hwlab/run.sh): boothd reads a vendor BLE oximeter (BerryMed BCI frames on the
# transparent-UART service, scripts/hwlab/ble/vendor_service.py) through real bluetoothd, after `boothctl pair`
# with a passkey: the device types 123456 (LAB_PASSKEY, agent KeyboardOnly), a wrong passkey must fail clearly.
# hci0 = the device, hci1 = boothd's adapter. Checks in scripts/hwlab/ble/vendor_e2e.py.
# Needs $BUILD_DIR (boothd, boothctl) and $BLE_PYTHON (a python with websockets). Exit 0 = passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${HWLAB_OUT:-/tmp}
# This step is the only one with a failed pairing (the wrong passkey), and bluetoothd 5.66 segfaulted in it in 4 of
# 4 full rehearsals on 2026-11-26 (first attempts; 0 in 5 runs of the step alone), once right after the failed
# pairing while its battery plugin read the device. The plugin only mirrors the device's Battery Service into
# org.bluez.Battery1 (boothd reads 0x2A19 itself when it is exported, which it then always is); steps 61 and 64 keep
# it, as on a booth. stack.sh prints a backtrace if bluetoothd crashes anyway.
export BLE_BLUETOOTHD_NOPLUGIN=${BLE_BLUETOOTHD_NOPLUGIN-battery}
. "$here/stack.sh"
ip link set lo up  # boothd's API listens on 127.0.0.1
LAB_SERVICE_MODULES=vendor_service LAB_PASSKEY=123456 \
    python3 "$here/peripheral.py" hci0 BerryMed none >"$out/vendor-peripheral.log" 2>&1 &
peripheral=$!
deadline=$(($(date +%s) + 30))
until grep -q 'advertisement registered' "$out/vendor-peripheral.log" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "vendor lab: the device did not advertise"; cat "$out/vendor-peripheral.log"; exit 1; }
    sleep 0.3
done
device=$(cut -d' ' -f1 /sys/kernel/debug/bluetooth/hci0/identity 2>/dev/null)
[ -n "$device" ] || device=$(hciconfig hci0 | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
device=$(echo "$device" | tr a-f A-F)
echo "vendor lab: BerryMed oximeter $device advertising at $(ble_uptime) s"
central=$(cut -d' ' -f1 /sys/kernel/debug/bluetooth/hci1/identity 2>/dev/null | tr a-f A-F)
[ -n "$central" ] || central=$(hciconfig hci1 | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
export BLE_CENTRAL_ADDRESS=$central BLE_BLUETOOTHD_PID
timeout 470 "$BLE_PYTHON" "$here/vendor_e2e.py" "$root" "$BUILD_DIR" "$device" "$peripheral" \
    "$out/vendor-peripheral.log" "$out"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "--- vendor-peripheral.log (tail)"; tail -25 "$out/vendor-peripheral.log"
    echo "--- vendor-o2ring.log (tail)"; tail -15 "$out/vendor-o2ring.log" 2>/dev/null
    grep -iE 'error|fail|smp|auth' "$out/bluetoothd.log" | tail -20
fi
exit "$rc"
