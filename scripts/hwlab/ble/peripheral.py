#!/usr/bin/python3
"""A simulated BLE medical device for the lab: a BlueZ D-Bus GATT application plus an LE advertisement.

Services: Device Information (0x180A), Battery (0x180F), Pulse Oximeter (0x1822, continuous measurement 0x2A5F
notify), Health Thermometer (0x1809, temperature measurement 0x2A1C indicate), Blood Pressure (0x1810, measurement
0x2A35 indicate). While subscribed, a measurement goes out every TICK_MS with a step counter folded into the
values, so a receiver can tell a duplicated delivery from a new reading. Every sent value is logged as
`[periph] sent <uuid> <hex>`.

Signals: SIGUSR1 = "switched off and on" (advertising stops, the adapter powers off for OFF_S seconds, then on
and advertising again); SIGWINCH = advertising off / on (links stay up); SIGHUP = with the cuff, a live reading with
intermediate cuff pressures; without it, take bluetoothd's default agent back. When bluetoothd restarts, the
application, advertisement and agent are registered again.
usage: peripheral.py ADAPTER LOCAL_NAME [SERVICES]
SERVICES: comma-separated measurement services to expose and advertise (default plx,hts,bps; also glucose and
cuff, a BPS 1.1 cuff with stored records); DIS and Battery
are always there. Each is one entry of MEASUREMENT_SERVICES (uuid + builder), so another service is one function.
"""
import signal
import sys
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

ADAPTER = sys.argv[1] if len(sys.argv) > 1 else 'hci0'
NAME = sys.argv[2] if len(sys.argv) > 2 else 'VLab-Oximeter'
SELECTED = [s for s in (sys.argv[3] if len(sys.argv) > 3 else 'plx,hts,bps').split(',') if s and s != 'none']
# LAB_PASSKEY=NNNNNN: the device "has a keypad" (agent KeyboardOnly) and always types this passkey, so a central
# that enters another one fails to pair. Unset: NoInputNoOutput, Just Works.
PASSKEY = __import__('os').environ.get('LAB_PASSKEY')
TICK_MS = 500
OFF_S = float(__import__('os').environ.get('LAB_OFF_S', '3'))
BLUEZ = 'org.bluez'
PROPS = 'org.freedesktop.DBus.Properties'
OM = 'org.freedesktop.DBus.ObjectManager'
GATT_SERVICE = 'org.bluez.GattService1'
GATT_CHRC = 'org.bluez.GattCharacteristic1'
ADVERT = 'org.bluez.LEAdvertisement1'
AGENT = 'org.bluez.Agent1'


def uuid16(short):
    return f'0000{short:04x}-0000-1000-8000-00805f9b34fb'


def log(message):
    # CLOCK_MONOTONIC seconds first: the lab benchmark compares them with boothctl's "t".
    print(f'{time.monotonic():.3f} [periph] {message}', flush=True)


def sfloat(mantissa, exponent=0):
    raw = ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)
    return [raw & 0xFF, raw >> 8]


def float32(mantissa, exponent):
    m = mantissa & 0xFFFFFF
    return [m & 0xFF, (m >> 8) & 0xFF, (m >> 16) & 0xFF, exponent & 0xFF]


def plx_continuous(step):
    # flags 0: SpO2 (SFLOAT) then pulse rate (SFLOAT)
    return [0x00] + sfloat(95 + (step // 40) % 5) + sfloat(60 + step % 40)


def hts_temperature(step):
    # flags 0: Celsius FLOAT, no time stamp, no type
    return [0x00] + float32(3600 + step % 100, -2)


def bps_measurement(step):
    # flags 0x1E: mmHg, time stamp, pulse rate, user id, status
    return ([0x1E] + sfloat(120 + step % 10) + sfloat(80 + step % 5) + sfloat(93)
            + [0xEA, 0x07, 11, 25, 21, 30, step % 60] + sfloat(70 + step % 20) + [0x01] + [0x00, 0x00])


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
loop = GLib.MainLoop()


class Application(dbus.service.Object):
    path = '/lab'

    def __init__(self):
        super().__init__(bus, self.path)
        self.services = []

    @dbus.service.method(OM, out_signature='a{oa{sa{sv}}}')
    def GetManagedObjects(self):
        objects = {}
        for service in self.services:
            objects[dbus.ObjectPath(service.path)] = {GATT_SERVICE: service.properties()}
            for chrc in service.characteristics:
                objects[dbus.ObjectPath(chrc.path)] = {GATT_CHRC: chrc.properties()}
        return objects


class Service(dbus.service.Object):
    def __init__(self, app, index, short):
        self.path = f'{app.path}/service{index}'
        self.uuid = uuid16(short)
        self.characteristics = []
        app.services.append(self)
        super().__init__(bus, self.path)

    def properties(self):
        return {'UUID': self.uuid, 'Primary': dbus.Boolean(True),
                'Characteristics': dbus.Array([c.path for c in self.characteristics], signature='o')}


class Characteristic(dbus.service.Object):
    def __init__(self, service, short, flags, value=None, generator=None):
        self.path = f'{service.path}/char{len(service.characteristics)}'
        self.service = service
        self.uuid = uuid16(short)
        self.flags = flags
        self.value = value or []
        self.generator = generator
        self.step = 0
        self.subscribed = False
        self.timer = None
        service.characteristics.append(self)
        super().__init__(bus, self.path)

    def properties(self):
        return {'Service': dbus.ObjectPath(self.service.path), 'UUID': self.uuid,
                'Flags': dbus.Array(self.flags, signature='s')}

    @dbus.service.method(PROPS, in_signature='s', out_signature='a{sv}')
    def GetAll(self, interface):
        return self.properties()

    @dbus.service.method(GATT_CHRC, in_signature='a{sv}', out_signature='ay')
    def ReadValue(self, options):
        log(f'read {self.uuid[4:8]}')
        return dbus.Array(self.value, signature='y')

    @dbus.service.method(GATT_CHRC, in_signature='aya{sv}')
    def WriteValue(self, value, options):
        self.value = [int(b) for b in value]
        log(f'written {self.uuid[4:8]} {bytes(self.value).hex()}')

    @dbus.service.method(GATT_CHRC)
    def StartNotify(self):
        log(f'subscribed {self.uuid[4:8]}')
        self.subscribed = True
        if self.generator and self.timer is None:
            self.timer = GLib.timeout_add(TICK_MS, self.tick)

    @dbus.service.method(GATT_CHRC)
    def StopNotify(self):
        log(f'unsubscribed {self.uuid[4:8]}')
        self.subscribed = False

    @dbus.service.signal(PROPS, signature='sa{sv}as')
    def PropertiesChanged(self, interface, changed, invalidated):
        pass

    def tick(self):
        if not self.subscribed:
            self.timer = None
            return False
        self.step += 1
        self.value = self.generator(self.step)
        self.PropertiesChanged(GATT_CHRC, {'Value': dbus.Array(self.value, signature='y')}, [])
        log(f'sent {self.uuid[4:8]} {bytes(self.value).hex()}')
        return True


class Advertisement(dbus.service.Object):
    path = '/lab/advertisement0'

    def __init__(self, uuids):
        self.uuids = uuids
        super().__init__(bus, self.path)

    @dbus.service.method(PROPS, in_signature='s', out_signature='a{sv}')
    def GetAll(self, interface):
        return {'Type': 'peripheral', 'ServiceUUIDs': dbus.Array(self.uuids, signature='s'),
                'LocalName': NAME, 'Discoverable': dbus.Boolean(True)}

    @dbus.service.method(ADVERT)
    def Release(self):
        log('advertisement released')


class Agent(dbus.service.Object):
    """Accepts every Just-Works request: the lab device has no display and no keyboard."""
    path = '/lab/agent'

    @dbus.service.method(AGENT)
    def Release(self):
        pass

    @dbus.service.method(AGENT, in_signature='ou')
    def RequestConfirmation(self, device, passkey):
        log(f'pairing confirmed for {device}')

    @dbus.service.method(AGENT, in_signature='o')
    def RequestAuthorization(self, device):
        log(f'pairing authorized for {device}')

    @dbus.service.method(AGENT, in_signature='os')
    def AuthorizeService(self, device, uuid):
        pass

    @dbus.service.method(AGENT, in_signature='o', out_signature='u')
    def RequestPasskey(self, device):
        if PASSKEY is None:
            log(f'passkey requested for {device}: refused (no keypad)')
            raise dbus.DBusException('no keypad', name='org.bluez.Error.Rejected')
        log(f'passkey requested for {device}: typing {PASSKEY}')
        return dbus.UInt32(int(PASSKEY))

    @dbus.service.method(AGENT, in_signature='ouq')
    def DisplayPasskey(self, device, passkey, entered):
        log(f'passkey displayed for {device}: {passkey:06d}')

    @dbus.service.method(AGENT)
    def Cancel(self):
        pass


app = Application()
dis = Service(app, 0, 0x180A)
Characteristic(dis, 0x2A29, ['read'], list(b'Booth Lab'))
Characteristic(dis, 0x2A24, ['read'], list(b'VLab-1'))
Characteristic(dis, 0x2A25, ['read'], list(b'SN-0042'))
Characteristic(dis, 0x2A26, ['read'], list(b'1.2.3'))
battery = Service(app, 1, 0x180F)
Characteristic(battery, 0x2A19, ['read', 'notify'], [87])


def add_plx(index):
    plx = Service(app, index, 0x1822)
    Characteristic(plx, 0x2A5F, ['notify'], plx_continuous(0), plx_continuous)
    Characteristic(plx, 0x2A60, ['read'], [0x00, 0x00])


def add_hts(index):
    hts = Service(app, index, 0x1809)
    Characteristic(hts, 0x2A1C, ['indicate'], hts_temperature(0), hts_temperature)


def add_bps(index):
    bps = Service(app, index, 0x1810)
    Characteristic(bps, 0x2A35, ['indicate'], bps_measurement(0), bps_measurement)
    Characteristic(bps, 0x2A49, ['read'], [0x00, 0x00])


def glucose_record(sequence):
    # flags 0x02: concentration (kg/L) + type/location; base time 2026-11-25 08:<seq>:00; (90 + seq) mg/dL as
    # SFLOAT (90 + seq) x 10^-5 kg/L; capillary whole blood, finger (0x11)
    return ([0x02, sequence & 0xFF, sequence >> 8, 0xEA, 0x07, 11, 25, 8, sequence % 60, 0]
            + sfloat(90 + sequence, -5) + [0x11])


class RecordAccessControlPoint(Characteristic):
    """RACP (0x2A52): report all / sequence number >= N, answered with the records (Glucose: Glucose Measurement
    notifications; cuff: Blood Pressure Record 0x2B36 indications), then the response code indication. Standard
    operators only."""

    def __init__(self, service, measurement, records, encode=None):
        super().__init__(service, 0x2A52, ['write', 'indicate'])
        self.measurement = measurement
        self.records = records
        self.encode = encode or glucose_record

    @dbus.service.method(GATT_CHRC, in_signature='aya{sv}')
    def WriteValue(self, value, options):
        request = [int(b) for b in value]
        log(f'written 2a52 {bytes(request).hex()}')
        if request[:2] == [0x01, 0x01]:
            selected = list(self.records)
        elif request[:3] == [0x01, 0x03, 0x01] and len(request) == 5:
            selected = [r for r in self.records if r >= request[3] | request[4] << 8]
        else:
            GLib.idle_add(self.respond, request[0], 0x04)
            return
        GLib.idle_add(self.report, selected)

    def report(self, selected):
        for sequence in selected:
            self.measurement.notify(self.encode(sequence))
        self.respond(0x01, 0x01 if selected else 0x06)
        return False

    def respond(self, opcode, code):
        self.notify([0x06, 0x00, opcode, code])
        return False


def notify(self, value):
    self.value = value
    self.PropertiesChanged(GATT_CHRC, {'Value': dbus.Array(value, signature='y')}, [])
    log(f'sent {self.uuid[4:8]} {bytes(value).hex()}')


Characteristic.notify = notify
GLUCOSE_RECORDS = [1, 2, 3]  # stored before the device ever met the booth; SIGUSR2 takes one more reading


def add_glucose(index):
    glucose = Service(app, index, 0x1808)
    measurement = Characteristic(glucose, 0x2A18, ['notify'], [])
    Characteristic(glucose, 0x2A51, ['read'], [0x00, 0x00])  # Glucose Feature
    RecordAccessControlPoint(glucose, measurement, GLUCOSE_RECORDS)
    # Current Time service with the clock unset (year 0), as a meter whose battery was changed: boothd sets it.
    cts = Service(app, index + 10, 0x1805)
    Characteristic(cts, 0x2A2B, ['read', 'write'], [0] * 10)

    def new_reading():
        GLUCOSE_RECORDS.append(GLUCOSE_RECORDS[-1] + 1)
        log(f'new reading {GLUCOSE_RECORDS[-1]}')
        if measurement.subscribed:
            measurement.notify(glucose_record(GLUCOSE_RECORDS[-1]))
        return True
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, new_reading)


def stored_bpm(sequence):
    # The reading the cuff took as its record `sequence`: (130 + seq)/(85 + seq) mmHg, mean 100, at
    # 2026-11-24 07:<seq>:00, pulse 60 + seq, user 1 (flags 0x1E as bps_measurement).
    return ([0x1E] + sfloat(130 + sequence) + sfloat(85 + sequence) + sfloat(100)
            + [0xEA, 0x07, 11, 24, 7, sequence % 60, 0] + sfloat(60 + sequence) + [0x01, 0x00, 0x00])


def bp_record(sequence):
    # Blood Pressure Record (0x2B36): one segment (0x03), sequence number, UUID 0x2A35, the stored measurement.
    return [0x03, sequence & 0xFF, sequence >> 8, 0x35, 0x2A] + stored_bpm(sequence)


CUFF_RECORDS = [0, 1, 2]  # stored before the cuff met the booth; SIGUSR2 takes one more reading (stored only)


def live_bpm(number):
    # A reading taken while connected: (118 + n)/76 mmHg, mean 90, at 2026-11-26 06:30:<n>, pulse 66, user 1.
    return ([0x1E] + sfloat(118 + number) + sfloat(76) + sfloat(90)
            + [0xEA, 0x07, 11, 26, 6, 30, number % 60] + sfloat(66) + [0x01, 0x00, 0x00])


def intermediate_cuff_pressure(mmhg):
    # Intermediate Cuff Pressure (0x2A36), flags 0 (mmHg, nothing optional): the cuff pressure in the systolic
    # slot, diastolic and mean unused (SFLOAT NaN 0x07FF).
    return [0x00] + sfloat(mmhg) + [0xFF, 0x07, 0xFF, 0x07]


CUFF_INFLATION = [20, 60, 100, 140, 160, 130, 100]  # mmHg, one notification every 400 ms


def add_cuff(index):
    """A BPS 1.1 cuff with stored records: live 0x2A35 (indicate), Intermediate Cuff Pressure 0x2A36 (notify),
    Blood Pressure Record 0x2B36 and RACP; a Current Time service whose clock is unset. SIGHUP takes a live
    reading while connected: the cuff pressures of CUFF_INFLATION on 0x2A36, then the 0x2A35 indication."""
    bps = Service(app, index, 0x1810)
    live = Characteristic(bps, 0x2A35, ['indicate'], [])
    Characteristic(bps, 0x2A49, ['read'], [0x00, 0x00])
    pressure = Characteristic(bps, 0x2A36, ['notify'], [])
    taken = [0]

    def measure():
        log(f'measuring live reading {taken[0]} (2a36 subscribed: {pressure.subscribed})')
        steps = list(CUFF_INFLATION)

        def step():
            if steps:
                pressure.notify(intermediate_cuff_pressure(steps.pop(0)))
                return True
            live.notify(live_bpm(taken[0]))
            taken[0] += 1
            return False
        GLib.timeout_add(400, step)
        return True
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGHUP, measure)
    records = Characteristic(bps, 0x2B36, ['indicate'], [])
    RecordAccessControlPoint(bps, records, CUFF_RECORDS, bp_record)
    cts = Service(app, index + 10, 0x1805)
    Characteristic(cts, 0x2A2B, ['read', 'write'], [0] * 10)

    def new_reading():
        CUFF_RECORDS.append(CUFF_RECORDS[-1] + 1)
        log(f'new reading {CUFF_RECORDS[-1]}')
        return True
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, new_reading)


# name -> (advertised 16-bit service UUID, builder(service index))
MEASUREMENT_SERVICES = {
    'cuff': ('1810', add_cuff),
    'plx': ('1822', add_plx),
    'hts': ('1809', add_hts),
    'bps': ('1810', add_bps),
    'glucose': ('1808', add_glucose),
}
for offset, name in enumerate(SELECTED):
    MEASUREMENT_SERVICES[name][1](2 + offset)
advertisement = Advertisement([MEASUREMENT_SERVICES[name][0] for name in SELECTED])
agent = Agent(bus, Agent.path)
adapter_path = f'/org/bluez/{ADAPTER}'
# More services from modules beside this file, named in $LAB_SERVICE_MODULES (comma-separated, e.g. ecg_service):
# each module's install(lab) receives this module and adds its services to `app` and its UUIDs to `advertisement`.
for _module in filter(None, __import__('os').environ.get('LAB_SERVICE_MODULES', '').split(',')):
    sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
    __import__(_module).install(sys.modules[__name__])


def adapter_props():
    return dbus.Interface(bus.get_object(BLUEZ, adapter_path), PROPS)


def advertising_manager():
    return dbus.Interface(bus.get_object(BLUEZ, adapter_path), 'org.bluez.LEAdvertisingManager1')


def report(what):
    return (lambda *_: log(f'{what} registered'),
            lambda error: log(f'{what} FAILED: {error}'))


def register_advertisement():
    ok, failed = report('advertisement')
    advertising_manager().RegisterAdvertisement(advertisement.path, {}, reply_handler=ok, error_handler=failed)


def register_all():
    """Powers the adapter and registers agent, application and advertisement; retried while bluetoothd is still
    setting the adapter up (org.bluez.Error.Busy right after a restart)."""
    try:
        props = adapter_props()
        props.Set('org.bluez.Adapter1', 'Powered', dbus.Boolean(True))
        props.Set('org.bluez.Adapter1', 'Alias', NAME)
        props.Set('org.bluez.Adapter1', 'Pairable', dbus.Boolean(True))
        agents = dbus.Interface(bus.get_object(BLUEZ, '/org/bluez'), 'org.bluez.AgentManager1')
        try:
            agents.RegisterAgent(agent.path, 'KeyboardOnly' if PASSKEY else 'NoInputNoOutput')
        except dbus.DBusException as error:
            if 'AlreadyExists' not in error.get_dbus_name():
                raise
        agents.RequestDefaultAgent(agent.path)
    except dbus.DBusException as error:
        log(f'bluetoothd not ready ({error.get_dbus_name()}), retrying')
        GLib.timeout_add(500, lambda: register_all() and False)
        return
    ok, failed = report('GATT application')
    dbus.Interface(bus.get_object(BLUEZ, adapter_path), 'org.bluez.GattManager1').RegisterApplication(
        app.path, {}, reply_handler=ok, error_handler=failed)
    register_advertisement()


def on_bluez_owner(name, old, new):
    if name == BLUEZ and new:
        log('bluetoothd is back: registering again')
        for service in app.services:
            for chrc in service.characteristics:
                chrc.subscribed = False
        GLib.timeout_add(300, lambda: register_all() and False)


def power_cycle():
    log('switching off')
    try:
        advertising_manager().UnregisterAdvertisement(advertisement.path)
    except dbus.DBusException as error:
        log(f'unregister advertisement: {error}')
    adapter_props().Set('org.bluez.Adapter1', 'Powered', dbus.Boolean(False))

    def back_on():
        adapter_props().Set('org.bluez.Adapter1', 'Powered', dbus.Boolean(True))
        register_advertisement()
        log('switched on')
        return False
    GLib.timeout_add(int(OFF_S * 1000), back_on)
    return False


advertising = [True]


def toggle_advertising():
    """SIGWINCH: stop or start advertising, the adapter and its links staying up (the multi-device lab holds a
    device back this way until it is its turn to connect)."""
    if advertising[0]:
        try:
            advertising_manager().UnregisterAdvertisement(advertisement.path)
            log('advertising off')
        except dbus.DBusException as error:
            log(f'unregister advertisement: {error}')
    else:
        register_advertisement()
        log('advertising on')
    advertising[0] = not advertising[0]
    return True


GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGWINCH, toggle_advertising)
bus.add_signal_receiver(on_bluez_owner, 'NameOwnerChanged', 'org.freedesktop.DBus', arg0=BLUEZ)
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, lambda: power_cycle() or True)
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, lambda: loop.quit() or False)


def take_default_agent():
    """SIGHUP: be bluetoothd's default agent again. In the lab both sides share one bluetoothd, and a central's
    `boothctl pair` without a passkey takes the default agent for its NoInputNoOutput one (that sets the IO capability
    of every adapter, this one too); without this the device would pair by Just Works afterwards."""
    dbus.Interface(bus.get_object(BLUEZ, '/org/bluez'), 'org.bluez.AgentManager1').RequestDefaultAgent(agent.path)
    log('default agent taken again')
    return True


if 'cuff' not in SELECTED:  # the cuff's SIGHUP takes a live reading (GLib would run both handlers)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGHUP, take_default_agent)
register_all()
log(f'ready on {ADAPTER} as {NAME}')
loop.run()
