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

ble_has_adapter() {
    dbus-send --system --print-reply --dest=org.bluez "/org/bluez/$1" org.freedesktop.DBus.Properties.Get \
        string:org.bluez.Adapter1 string:Address >/dev/null 2>&1
}

# Starts bluetoothd and waits until it shows both adapters.
ble_start_bluetoothd() {
    /usr/libexec/bluetooth/bluetoothd -n ${BLE_BLUETOOTHD_DEBUG:+-d} >>"$HWLAB_OUT/bluetoothd.log" 2>&1 &
    BLE_BLUETOOTHD_PID=$!
    ble_wait_dbus_name org.bluez 20 || return 1
    local round
    for round in $(seq 50); do
        ble_has_adapter hci0 && ble_has_adapter hci1 && return 0
        sleep 0.5
    done
    return 1
}

ble_stop_bluetoothd() {
    kill "$BLE_BLUETOOTHD_PID" 2>/dev/null
    wait "$BLE_BLUETOOTHD_PID" 2>/dev/null
}

mkdir -p /run/dbus /var/lib/bluetooth "$HWLAB_OUT"
modprobe hci_vhci || { echo "ble stack: no hci_vhci module"; exit 1; }
dbus-daemon --system --fork --nopidfile || { echo "ble stack: dbus-daemon failed"; exit 1; }
# Under a loaded TCG host a controller's first HCI initialisation can time out (kernel: "Opcode 0x0c03 failed:
# -110") and the adapter never reaches bluetoothd: then start the virtual controllers and bluetoothd again.
for attempt in 1 2 3; do
    btvirt -l2 -L >>"$HWLAB_OUT/btvirt.log" 2>&1 &
    BLE_BTVIRT_PID=$!
    for _ in $(seq 100); do [ -e /sys/class/bluetooth/hci1 ] && break; sleep 0.1; done
    if [ -e /sys/class/bluetooth/hci1 ] && ble_start_bluetoothd; then break; fi
    echo "ble stack: attempt $attempt: controllers or bluetoothd not ready, starting again"
    ble_stop_bluetoothd
    kill "$BLE_BTVIRT_PID" 2>/dev/null
    wait "$BLE_BTVIRT_PID" 2>/dev/null
    for _ in $(seq 50); do [ -e /sys/class/bluetooth/hci0 ] || break; sleep 0.1; done
    [ "$attempt" -lt 3 ] || { echo "ble stack: giving up"; exit 1; }
done
echo "ble stack: up at $(ble_uptime) s"
