# Sourced by the BLE guest scripts: starts the system bus, $BLE_CONTROLLERS (default 2) virtual LE controllers on
# one virtual air (hci0 for the simulated devices, hci1 for boothd, hci2... for more devices) and bluetoothd.
# Logs go to $HWLAB_OUT.
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

BLE_CONTROLLERS=${BLE_CONTROLLERS:-2}
ble_adapters=$(seq 0 $((BLE_CONTROLLERS - 1)) | sed 's/^/hci/')

# Starts bluetoothd and waits until it shows every adapter.
ble_start_bluetoothd() {
    # BLE_BLUETOOTHD_NOPLUGIN: plugins bluetoothd must not load (its -P), e.g. "battery" (vendor-lab.sh).
    /usr/libexec/bluetooth/bluetoothd -n ${BLE_BLUETOOTHD_DEBUG:+-d} \
        ${BLE_BLUETOOTHD_NOPLUGIN:+-P "$BLE_BLUETOOTHD_NOPLUGIN"} >>"$HWLAB_OUT/bluetoothd.log" 2>&1 &
    BLE_BLUETOOTHD_PID=$!
    ble_wait_dbus_name org.bluez 20 || return 1
    local round
    for round in $(seq 50); do
        local missing=no adapter
        for adapter in $ble_adapters; do ble_has_adapter "$adapter" || missing=yes; done
        [ "$missing" = no ] && return 0
        sleep 0.5
    done
    return 1
}

ble_stop_bluetoothd() {
    kill "$BLE_BLUETOOTHD_PID" 2>/dev/null
    wait "$BLE_BLUETOOTHD_PID" 2>/dev/null
}

mkdir -p /run/dbus /var/lib/bluetooth "$HWLAB_OUT"
# bluetoothd 5.66 has segfaulted in this lab (step 63, BerryMed part, first attempt of full rehearsals): keep its
# core in the guest and print a backtrace when the guest script exits (gdb from the host's root, which the guest
# sees). Debian's bluetoothd is stripped: frames name only its ~260 exported functions, which still narrows it.
ulimit -c unlimited
echo "/tmp/core.%e.%p" >/proc/sys/kernel/core_pattern 2>/dev/null
ble_crash_report() {
    local core
    for core in /tmp/core.*; do
        [ -e "$core" ] || continue
        echo "ble stack: a process crashed, core $core; backtrace:"
        case "$core" in
        */core.bluetoothd.*) exe=/usr/libexec/bluetooth/bluetoothd ;;
        *) exe=$(file "$core" 2>/dev/null | sed -n "s/.*execfn: '\([^']*\)'.*/\1/p") ;;
        esac
        if command -v gdb >/dev/null && [ -n "$exe" ]; then
            timeout 60 gdb -batch -nx -ex "bt 40" "$exe" "$core" 2>&1 | grep -E '^#|signal' | head -45
        else
            echo "  (no gdb here: apt-get install gdb)"
        fi
        cp "$core" "$HWLAB_OUT/" 2>/dev/null || true
    done
}
trap ble_crash_report EXIT
modprobe hci_vhci || { echo "ble stack: no hci_vhci module"; exit 1; }
dbus-daemon --system --fork --nopidfile || { echo "ble stack: dbus-daemon failed"; exit 1; }
# Controllers that finished their HCI setup are in the kernel's management index list (what `btmgmt info` shows).
ble_controllers_ready() {
    local listing
    listing=$(timeout 5 btmgmt info 2>/dev/null)
    local adapter
    for adapter in $ble_adapters; do echo "$listing" | grep -q "^$adapter:" || return 1; done
}

# The first HCI setup of a fresh virtual controller sometimes times out in this guest (kernel: "Opcode 0x0c03
# failed: -110"); such a controller never reaches the management interface, so start the controllers again.
for attempt in 1 2 3 4; do
    resets_failed=$(dmesg | grep -c 'Opcode 0x0c03 failed')
    btvirt -l"$BLE_CONTROLLERS" -L >>"$HWLAB_OUT/btvirt.log" 2>&1 &
    BLE_BTVIRT_PID=$!
    ready=no
    for round in $(seq 60); do
        if ble_controllers_ready; then ready=yes; break; fi
        [ "$(dmesg | grep -c 'Opcode 0x0c03 failed')" -gt "$resets_failed" ] && break
        # No setup failure within the kernel's 10 s init timeout: the controllers are usable.
        if [ "$round" -ge 45 ] && [ -e "/sys/class/bluetooth/hci$((BLE_CONTROLLERS - 1))" ]; then ready=yes; break; fi
        sleep 0.3
    done
    [ "$ready" = yes ] && break
    echo "ble stack: attempt $attempt: a virtual controller failed its setup, starting them again"
    kill "$BLE_BTVIRT_PID" 2>/dev/null
    wait "$BLE_BTVIRT_PID" 2>/dev/null
    for _ in $(seq 50); do [ -e /sys/class/bluetooth/hci0 ] || break; sleep 0.1; done
    [ "$attempt" -lt 4 ] || { echo "ble stack: giving up on btvirt"; exit 1; }
done
ble_start_bluetoothd || { echo "ble stack: bluetoothd did not show all $BLE_CONTROLLERS adapters"; exit 1; }
echo "ble stack: up at $(ble_uptime) s"
