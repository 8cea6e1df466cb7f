# Guest script (run by scripts/hwlab/run.sh): boothd reads three simulated BLE devices at once through real
# bluetoothd -- a BPS 1.1 cuff with stored records (RACP + Blood Pressure Record, hci0), a thermometer (HTS, hci2)
# and an oximeter (PLX, hci3) -- with its own adapter hci1. scripts/hwlab/ble/boothd_multi.py has the checks:
# every device's readings on one WebSocket, cuff records fetched after each reconnect (only new ones), adapter
# powered off/on, and D-Bus match rules / fds / RSS over many device power cycles.
# Needs $BUILD_DIR (boothd, boothctl) and $BLE_PYTHON (a python with websockets). Exit 0 = passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${HWLAB_OUT:-/tmp}
# Devices to run, in the order boothd is to connect them (LAB_MULTI_DEVICES, default cuff,hts,plx): the first on
# hci0, the others on hci2, hci3; boothd's adapter is hci1; hci4, hci5 are pad controllers (below).
set -- $(echo "${LAB_MULTI_DEVICES:-cuff,hts,plx}" | tr ',' ' ')
BLE_CONTROLLERS=$(($# > 1 ? 2 * $# : 2))
. "$here/stack.sh"
ip link set lo up  # boothd's API listens on 127.0.0.1
# LAB_BTMON=1 records every controller's HCI traffic in $HWLAB_OUT/btmon.snoop (snoop_links.py lists its links).
if [ -n "${LAB_BTMON:-}" ]; then btmon -w "$out/btmon.snoop" >/dev/null 2>&1 & fi

address() {
    local a
    a=$(cut -d' ' -f1 "/sys/kernel/debug/bluetooth/$1/identity" 2>/dev/null)
    [ -n "$a" ] || a=$(hciconfig "$1" | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
    echo "$a" | tr a-f A-F
}

declare -A label=([plx]=VLab-Oximeter [hts]=VLab-Thermo [cuff]=VLab-Cuff)
declare -A pid_of address_of
LAB_DEVICES=""
index=0
for name in "$@"; do
    adapter=hci$index
    [ "$index" -eq 0 ] && index=2 || index=$((index + 1))
    # The cycled device is power-cycled many times: a short "off" keeps each cycle quick.
    LAB_OFF_S=${LAB_OFF_S:-1} python3 "$here/peripheral.py" "$adapter" "${label[$name]}" "$name" \
        >"$out/periph-$name.log" 2>&1 &
    pid_of[$name]=$!
    address_of[$name]=$(address "$adapter")
    LAB_DEVICES="$LAB_DEVICES${LAB_DEVICES:+,}$name=${address_of[$name]}=$!=$out/periph-$name.log"
done
deadline=$(($(date +%s) + 40))
for name in "$@"; do
    until grep -q 'advertisement registered' "$out/periph-$name.log" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "ble multi lab: $name did not advertise"; cat "$out/periph-$name.log"; exit 1; }
        sleep 0.3
    done
done
echo "ble multi lab: $* advertising at $(ble_uptime) s"

# btvirt 5.66 gives the two ends of an LE link the lowest free handle (from 42) of each controller, but reports
# the central's handle to both hosts and forwards ACL data without translating it: when boothd's controller
# already holds a link (handle 42) and a device's controller holds none, the device's host sends on handle 43,
# which its emulated controller does not know, and every packet from the device is dropped (service discovery
# never ends; giving up on it crashed the 6.1 guest kernel in hci_chan_del). So before boothd starts, the k-th
# device to connect gets k "pad" links from spare controllers (hci4, hci5), made so that both ends of each pad
# link hold the same handles; its link with boothd then gets the same handle at both ends. boothd must connect
# the devices in this order: all but the first stop advertising until boothd_multi.py lets them in (SIGWINCH).
readvertise() { kill -WINCH "${pid_of[$1]}"; sleep 0.5; kill -WINCH "${pid_of[$1]}"; sleep 1; }
k=0
for name in "$@"; do
    if [ "$k" -gt 0 ]; then
        for j in $(seq "$k" -1 1); do
            # A pad link's connection may end the device's advertising, and a helper sometimes does not see the
            # device at all (1 run in 5): advertise again before a later pad link and before each retry.
            for attempt in 1 2 3; do
                [ "$j" -lt "$k" ] || [ "$attempt" -gt 1 ] && readvertise "$name"
                timeout 40 python3 "$here/pad_link.py" "hci$(($# + j))" "${address_of[$name]}" \
                    >>"$out/pad-links.log" 2>&1 && break
                [ "$attempt" -lt 3 ] || { echo "ble multi lab: pad link hci$(($# + j)) -> $name failed"; cat "$out/pad-links.log"; exit 1; }
            done
        done
        kill -WINCH "${pid_of[$name]}"  # held back until its turn
    fi
    k=$((k + 1))
done
[ "$#" -gt 1 ] && echo "ble multi lab: pad links up at $(ble_uptime) s ($(grep -c connected "$out/pad-links.log"))"
export BLE_BLUETOOTHD_PID LAB_DEVICES
timeout "${BLE_MULTI_TIMEOUT:-480}" "$BLE_PYTHON" "$here/boothd_multi.py" "$root" "$BUILD_DIR" "$out"
rc=$?
if [ "$rc" -ne 0 ]; then
    for name in "$@"; do echo "--- periph-$name.log (tail)"; tail -8 "$out/periph-$name.log"; done
    grep -iE 'error|fail' "$out/bluetoothd.log" | tail -20
fi
kill "${pid_of[@]}" 2>/dev/null
exit "$rc"
