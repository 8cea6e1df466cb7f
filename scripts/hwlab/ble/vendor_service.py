"""A BerryMed BCI pulse oximeter for the lab peripheral (loaded by peripheral.py when LAB_SERVICE_MODULES names
`vendor_service`; run it with SERVICES `none` and a local name starting with "BerryMed", as the firmware profile
berrymed.bci matches on service + name).

Service 49535343-fe7d-... (Microchip/ISSC transparent UART): notify 49535343-1e4d-..., write 49535343-8841-....
While subscribed it streams 5-byte BCI frames, 10 a second, as a byte stream cut into 7-byte notifications (so
frames straddle notifications, as on the real UART bridge). The frames are the public vector 87 32 05 48 62
(SpO2 98, pulse 72) with the pulse byte stepped once a second through 72..75, so a receiver can tell readings
apart. SIGUSR2 toggles "finger out": then the frames are the public invalid vector 87 00 45 7f 7f.
Every frame is logged as `[periph] frame <hex>`, every notification as `[periph] sent 5343 <hex>`.
LAB_VENDOR=o2ring, jumper or yuwell: the same radio as a Wellue O2Ring, a Jumper JPD-500F or a Yuwell YX110 instead.
"""
import os
import signal

SERVICE = '49535343-fe7d-4ae5-8fa9-9fafd205e455'
NOTIFY = '49535343-1e4d-4bd9-ba61-23c647249616'
WRITE = '49535343-8841-43f4-a8d4-ecbe34729bb3'
VALID = [0x87, 0x32, 0x05, 0x48, 0x62]  # public vector berrymed_bci_5byte
INVALID = [0x87, 0x00, 0x45, 0x7F, 0x7F]  # public vector berrymed_bci_5byte_invalid_values
FRAMES_PER_SECOND = 10
CHUNK = 7


# LAB_VENDOR=o2ring: a Wellue O2Ring instead (command/response frames, see install_o2ring).
O2_SERVICE = '14839ac4-7d7e-415c-9a42-167340cf2339'
O2_NOTIFY = '0734594a-a8e7-4b1a-a6b1-cd5243059a57'
O2_WRITE = '8b00ace7-eb0b-49b0-bbe9-9aee0a26e1a3'
O2_READ_SENSORS = [0xAA, 0x17, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x1B]  # public vector viatom_o2ring_command_frame
# Payload of the public vector viatom_o2ring_read_sensors_payload: SpO2 98, pulse 66, battery 97, finger present.
O2_PAYLOAD = [0x62, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x00, 0x92, 0x0A, 0x01, 0x00]


def crc8(data):
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def o2_response(payload):
    frame = [0x55, 0x00, 0xFF, 0x00, 0x00, len(payload) & 0xFF, len(payload) >> 8] + payload
    return frame + [crc8(frame)]


def install_o2ring(lab):
    """Wellue O2Ring: answers each "read sensors" command written to 8b00ace7-... with the 21-byte response frame
    (public payload, pulse stepped 66..69 per answer) on 0734594a-..., sent as a 20-byte and a 1-byte
    notification as at the default ATT MTU. Other commands get no answer. Logs `[periph] response <hex>`."""
    GLib, dbus = lab.GLib, lab.dbus

    class Command(lab.Characteristic):
        answers = 0

        @dbus.service.method(lab.GATT_CHRC, in_signature='aya{sv}')
        def WriteValue(self, value, options):
            request = [int(b) for b in value]
            lab.log(f'written ace7 {bytes(request).hex()}')
            if request != O2_READ_SENSORS or not notify.subscribed:
                return
            payload = list(O2_PAYLOAD)
            payload[1] = 66 + Command.answers % 4
            Command.answers += 1
            frame = o2_response(payload)
            lab.log(f'response {bytes(frame).hex()}')
            GLib.idle_add(lambda: notify.notify(frame[:20]) or notify.notify(frame[20:]) or False)

    service = lab.Service(lab.app, 30, 0x0000)
    service.uuid = O2_SERVICE
    notify = lab.Characteristic(service, 0x0000, ['notify'])
    notify.uuid = O2_NOTIFY
    command = Command(service, 0x0000, ['write', 'write-without-response'])
    command.uuid = O2_WRITE
    lab.advertisement.uuids = list(lab.advertisement.uuids) + [O2_SERVICE]
    lab.log('o2ring: answers read-sensors commands')


# LAB_VENDOR=jumper / yuwell: a fingertip oximeter notifying one whole frame twice a second, the bytes of the
# profile's trace (firmware-profiles/traces) with the pulse byte stepped once a second so readings differ.
JUMPER_SERVICE = 'cdeacb80-5235-4c07-8846-93a37ee6b86d'
JUMPER_NOTIFY = 'cdeacb81-5235-4c07-8846-93a37ee6b86d'
JUMPER_FRAME = [0x81, 0x38, 0x63, 0x44]  # traces/jumper-jpd500f.trace: pulse 56, SpO2 99, PI 6.8 %
YUWELL_SERVICE = 0xFFE0
YUWELL_NOTIFY = 0xFFE4
YUWELL_FRAME = [0xFE, 0x0A, 0x55, 0x00, 0x52, 0x5F, 0x17, 0x70, 0xCF, 0x64]  # traces/yuwell-yx110.trace: 82, 95


def jumper_frame(second):
    frame = list(JUMPER_FRAME)
    frame[1] += second % 4
    return frame


def yuwell_frame(second):
    frame = list(YUWELL_FRAME)
    frame[4] += second % 4
    frame[-1] = sum(frame[:-1]) & 0xFF  # checksum: sum of the bytes before it, mod 256
    return frame


def install_stream(lab, service_uuid, notify_uuid, make_frame, name):
    """A streaming vendor oximeter: while subscribed, notifies make_frame(seconds since subscribed) every 500 ms.
    Logs `[periph] frame <hex>` for each."""
    GLib, dbus = lab.GLib, lab.dbus

    class Stream(lab.Characteristic):
        @dbus.service.method(lab.GATT_CHRC)
        def StartNotify(self):
            lab.log(f'subscribed {name}')
            self.subscribed = True
            self.ticks = 0
            if self.timer is None:
                self.timer = GLib.timeout_add(500, self.tick)

        def tick(self):
            if not self.subscribed:
                self.timer = None
                return False
            frame = make_frame(self.ticks // 2)
            self.ticks += 1
            lab.log(f'frame {bytes(frame).hex()}')
            self.notify(frame)
            return True

    service = lab.Service(lab.app, 30, service_uuid if isinstance(service_uuid, int) else 0x0000)
    if isinstance(service_uuid, str):
        service.uuid = service_uuid
    stream = Stream(service, notify_uuid if isinstance(notify_uuid, int) else 0x0000, ['notify'])
    if isinstance(notify_uuid, str):
        stream.uuid = notify_uuid
    lab.advertisement.uuids = list(lab.advertisement.uuids) + [service.uuid]
    lab.log(f'{name} oximeter: 2 frames/s')


def install(lab):
    vendor = os.environ.get('LAB_VENDOR')
    if vendor == 'o2ring':
        install_o2ring(lab)
        return
    if vendor == 'jumper':
        install_stream(lab, JUMPER_SERVICE, JUMPER_NOTIFY, jumper_frame, 'jumper')
        return
    if vendor == 'yuwell':
        install_stream(lab, YUWELL_SERVICE, YUWELL_NOTIFY, yuwell_frame, 'yuwell')
        return
    GLib, dbus = lab.GLib, lab.dbus
    state = {'finger_out': False}

    class Stream(lab.Characteristic):
        @dbus.service.method(lab.GATT_CHRC)
        def StartNotify(self):
            lab.log('subscribed 5343')
            self.subscribed = True
            self.frames = 0
            self.pending = []
            if self.timer is None:
                self.timer = GLib.timeout_add(1000 // FRAMES_PER_SECOND, self.tick)

        def tick(self):
            if not self.subscribed:
                self.timer = None
                return False
            if state['finger_out']:
                frame = list(INVALID)
            else:
                frame = list(VALID)
                frame[3] = 72 + (self.frames // FRAMES_PER_SECOND) % 4
            self.frames += 1
            lab.log(f'frame {bytes(frame).hex()}')
            self.pending += frame
            while len(self.pending) >= CHUNK:
                chunk, self.pending = self.pending[:CHUNK], self.pending[CHUNK:]
                self.notify(chunk)
            return True

    def toggle():
        state['finger_out'] = not state['finger_out']
        lab.log(f"finger {'out' if state['finger_out'] else 'in'}")
        return True

    service = lab.Service(lab.app, 30, 0x0000)
    service.uuid = SERVICE
    stream = Stream(service, 0x0000, ['notify'])
    stream.uuid = NOTIFY
    command = lab.Characteristic(service, 0x0000, ['write', 'write-without-response'])
    command.uuid = WRITE
    lab.advertisement.uuids = list(lab.advertisement.uuids) + [SERVICE]
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, toggle)
    lab.log(f'berrymed oximeter: {FRAMES_PER_SECOND} frames/s in {CHUNK}-byte notifications')
