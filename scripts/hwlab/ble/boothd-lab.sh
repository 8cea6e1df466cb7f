# Guest script (run by scripts/hwlab/run.sh): boothd itself reads a simulated BLE oximeter through real
# bluetoothd and delivers to a Python websockets client (scripts/hwlab/ble/boothd_e2e.py has the checks).
# hci0 = the device (peripheral.py, PLX only so one firmware profile claims it), hci1 = boothd's adapter.
# Needs $BUILD_DIR (boothd, boothctl) and $BLE_PYTHON (a python with websockets + jsonschema). Exit 0 = passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${HWLAB_OUT:-/tmp}
. "$here/stack.sh"
ip link set lo up  # the guest starts with loopback down; boothd's API listens on 127.0.0.1
python3 "$here/peripheral.py" hci0 VLab-Oximeter plx >"$out/peripheral.log" 2>&1 &
peripheral=$!
deadline=$(($(date +%s) + 30))
until grep -q 'advertisement registered' "$out/peripheral.log" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "ble boothd lab: the device did not advertise"; cat "$out/peripheral.log"; exit 1; }
    sleep 0.3
done
device=$(cut -d' ' -f1 /sys/kernel/debug/bluetooth/hci0/identity 2>/dev/null)
[ -n "$device" ] || device=$(hciconfig hci0 | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
device=$(echo "$device" | tr a-f A-F)
echo "ble boothd lab: device $device advertising at $(ble_uptime) s"
central=$(cut -d' ' -f1 /sys/kernel/debug/bluetooth/hci1/identity 2>/dev/null | tr a-f A-F)
[ -n "$central" ] || central=$(hciconfig hci1 | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
export BLE_BLUETOOTHD_PID BLE_CENTRAL_ADDRESS=$central
timeout 330 "$BLE_PYTHON" "$here/boothd_e2e.py" "$root" "$BUILD_DIR" "$device" "$peripheral" "$out/peripheral.log" "$out"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "--- peripheral.log (tail)"; tail -20 "$out/peripheral.log"
    grep -iE 'error|fail' "$out/bluetoothd.log" | tail -20
fi
exit "$rc"
