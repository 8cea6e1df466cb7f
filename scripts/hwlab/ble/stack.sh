# Sourced by the BLE guest scripts: starts the system bus, two virtual LE controllers on one virtual air (hci0 for
# the simulated devices, hci1 for boothd) and bluetoothd. Logs go to $HWLAB_OUT.
# Defines: ble_uptime, ble_start_bluetoothd, ble_stop_bluetoothd, ble_wait_dbus_name NAME SECONDS.
ble_uptime() { cut -d' ' -f1 /proc/uptime; }

ble_wait_dbus_name() {
    local deadline=$(($(date +%s) + $2))
    until dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \
        "string:$1" 2>/dev/null | grep -q 'boolean true'; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

ble_start_bluetoothd() {
    /usr/libexec/bluetooth/bluetoothd -n ${BLE_BLUETOOTHD_DEBUG:+-d} >>"$HWLAB_OUT/bluetoothd.log" 2>&1 &
    BLE_BLUETOOTHD_PID=$!
    ble_wait_dbus_name org.bluez 20
}

ble_stop_bluetoothd() {
    kill "$BLE_BLUETOOTHD_PID" 2>/dev/null
    wait "$BLE_BLUETOOTHD_PID" 2>/dev/null
}

mkdir -p /run/dbus /var/lib/bluetooth "$HWLAB_OUT"
modprobe hci_vhci || { echo "ble stack: no hci_vhci module"; exit 1; }
dbus-daemon --system --fork --nopidfile || { echo "ble stack: dbus-daemon failed"; exit 1; }
btvirt -l2 -L >"$HWLAB_OUT/btvirt.log" 2>&1 &
for _ in $(seq 50); do [ -e /sys/class/bluetooth/hci1 ] && break; sleep 0.1; done
[ -e /sys/class/bluetooth/hci1 ] || { echo "ble stack: btvirt made no hci1"; exit 1; }
ble_start_bluetoothd || { echo "ble stack: bluetoothd did not come up"; exit 1; }
echo "ble stack: up at $(ble_uptime) s"
