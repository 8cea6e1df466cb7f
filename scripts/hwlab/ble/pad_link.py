#!/usr/bin/python3
"""Connects a spare lab controller to a simulated device through bluetoothd, to take up one connection handle on
the device's emulated controller (see multi-lab.sh: why several devices at once need this under btvirt 5.66).

usage: pad_link.py HELPER_ADAPTER DEVICE_ADDRESS   (exit 0 once connected; 1 when the device is not seen in
15 s or not connected in 35 s)
"""
import sys
import time

import dbus

ADAPTER, ADDRESS = sys.argv[1], sys.argv[2].upper()
BLUEZ = 'org.bluez'
bus = dbus.SystemBus()
adapter_path = f'/org/bluez/{ADAPTER}'
device_path = f'{adapter_path}/dev_{ADDRESS.replace(":", "_")}'
adapter = dbus.Interface(bus.get_object(BLUEZ, adapter_path), 'org.bluez.Adapter1')
props = dbus.Interface(bus.get_object(BLUEZ, adapter_path), 'org.freedesktop.DBus.Properties')
props.Set('org.bluez.Adapter1', 'Powered', dbus.Boolean(True))
deadline = time.monotonic() + 35


def known():
    objects = dbus.Interface(bus.get_object(BLUEZ, '/'), 'org.freedesktop.DBus.ObjectManager').GetManagedObjects()
    return device_path in objects


adapter.SetDiscoveryFilter({'Transport': 'le'})
adapter.StartDiscovery()
seen_by = time.monotonic() + 15
while not known() and time.monotonic() < seen_by:
    time.sleep(0.3)
adapter.StopDiscovery()
if not known():
    print(f'pad link: {ADAPTER} never saw {ADDRESS}')
    sys.exit(1)
device = dbus.Interface(bus.get_object(BLUEZ, device_path), 'org.bluez.Device1')
while time.monotonic() < deadline:
    try:
        device.Connect(timeout=30)
        print(f'pad link: {ADAPTER} -> {ADDRESS} connected')
        sys.exit(0)
    except dbus.DBusException as error:
        print(f'pad link: {ADAPTER} -> {ADDRESS}: {error.get_dbus_name()}, retrying')
        time.sleep(1)
sys.exit(1)
