# Guest script (run by scripts/hwlab/run.sh): boothd reads three simulated BLE devices at once through real
# bluetoothd -- an oximeter (PLX, hci0), a thermometer (HTS, hci2) and a BPS 1.1 cuff with stored records (RACP +
# Blood Pressure Record, hci3) -- with its own adapter hci1. scripts/hwlab/ble/boothd_multi.py has the checks:
# every device's readings on one WebSocket, cuff records fetched after each reconnect (only new ones), adapter
# powered off/on, and D-Bus match rules / fds / RSS over many device power cycles.
# Needs $BUILD_DIR (boothd, boothctl) and $BLE_PYTHON (a python with websockets). Exit 0 = passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${HWLAB_OUT:-/tmp}
# Devices to run (LAB_MULTI_DEVICES, default plx,hts,cuff): the first on hci0, the others on hci2, hci3.
set -- $(echo "${LAB_MULTI_DEVICES:-plx,hts,cuff}" | tr ',' ' ')
BLE_CONTROLLERS=$(($# + 1))
. "$here/stack.sh"
ip link set lo up  # boothd's API listens on 127.0.0.1

address() {
    local a
    a=$(cut -d' ' -f1 "/sys/kernel/debug/bluetooth/$1/identity" 2>/dev/null)
    [ -n "$a" ] || a=$(hciconfig "$1" | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
    echo "$a" | tr a-f A-F
}

declare -A label=([plx]=VLab-Oximeter [hts]=VLab-Thermo [cuff]=VLab-Cuff)
pids=""
LAB_DEVICES=""
index=0
for name in "$@"; do
    adapter=hci$index
    [ "$index" -eq 0 ] && index=2 || index=$((index + 1))
    # The oximeter is power-cycled many times: a short "off" keeps each cycle quick.
    LAB_OFF_S=${LAB_OFF_S:-1} python3 "$here/peripheral.py" "$adapter" "${label[$name]}" "$name" \
        >"$out/periph-$name.log" 2>&1 &
    pids="$pids $!"
    LAB_DEVICES="$LAB_DEVICES${LAB_DEVICES:+,}$name=$(address "$adapter")=$!=$out/periph-$name.log"
done
deadline=$(($(date +%s) + 40))
for name in "$@"; do
    until grep -q 'advertisement registered' "$out/periph-$name.log" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "ble multi lab: $name did not advertise"; cat "$out/periph-$name.log"; exit 1; }
        sleep 0.3
    done
done
echo "ble multi lab: $* advertising at $(ble_uptime) s"
export BLE_BLUETOOTHD_PID LAB_DEVICES
timeout "${BLE_MULTI_TIMEOUT:-480}" "$BLE_PYTHON" "$here/boothd_multi.py" "$root" "$BUILD_DIR" "$out"
rc=$?
if [ "$rc" -ne 0 ]; then
    for name in "$@"; do echo "--- periph-$name.log (tail)"; tail -8 "$out/periph-$name.log"; done
    grep -iE 'error|fail' "$out/bluetoothd.log" | tail -20
fi
kill $pids 2>/dev/null
exit "$rc"
