# Guest script (run by scripts/hwlab/run.sh, started by scripts/faults/ble-power-cycle.sh): the #9 soak of BLE
# device power cycles through real bluetoothd. One simulated device (peripheral.py, $BLE_SOAK_DEVICE: plx, the
# oximeter, by default) on hci0, boothd on hci1; scripts/hwlab/ble/ble_power_cycles.py switches the device off
# and on $BLE_CYCLES times, times each phase, and samples boothd's fds, RSS, D-Bus match rules and BLE gauges.
# Needs $BUILD_DIR (boothd) and $BLE_PYTHON (a python with websockets). Exit 0 = every cycle reconnected and
# nothing grew.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${HWLAB_OUT:-/tmp}
BLE_CONTROLLERS=2
. "$here/stack.sh"
ip link set lo up  # boothd's API listens on 127.0.0.1
name=${BLE_SOAK_DEVICE:-plx}
declare -A label=([plx]=VLab-Oximeter [hts]=VLab-Thermo [cuff]=VLab-Cuff)
LAB_OFF_S=${BLE_OFF_S:-1} python3 "$here/peripheral.py" hci0 "${label[$name]}" \
    "$name" >"$out/periph-$name.log" 2>&1 &
periph=$!
deadline=$(($(date +%s) + 150))  # python3 + dbus/gi over 9p start slowly on a loaded host
until grep -q 'advertisement registered' "$out/periph-$name.log" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "ble power cycles: $name did not advertise"; cat "$out/periph-$name.log"; exit 1; }
    sleep 0.3
done
address=$(cut -d' ' -f1 /sys/kernel/debug/bluetooth/hci0/identity 2>/dev/null)
[ -n "$address" ] || address=$(hciconfig hci0 | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
address=$(echo "$address" | tr a-f A-F)
echo "ble power cycles: $name $address advertising at $(ble_uptime) s"
export BLE_BLUETOOTHD_PID LAB_DEVICES="$name=$address=$periph=$out/periph-$name.log"
timeout "${BLE_SOAK_TIMEOUT:-3600}" "$BLE_PYTHON" "$here/ble_power_cycles.py" "$root" "$BUILD_DIR" "$out"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "--- periph-$name.log (tail)"; tail -12 "$out/periph-$name.log"
    grep -iE 'error|fail' "$out/bluetoothd.log" | tail -20
fi
kill "$periph" 2>/dev/null
exit "$rc"
