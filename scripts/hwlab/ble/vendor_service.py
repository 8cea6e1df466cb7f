"""A BerryMed BCI pulse oximeter for the lab peripheral (loaded by peripheral.py when LAB_SERVICE_MODULES names
`vendor_service`; run it with SERVICES `none` and a local name starting with "BerryMed", as the firmware profile
berrymed.bci matches on service + name).

Service 49535343-fe7d-... (Microchip/ISSC transparent UART): notify 49535343-1e4d-..., write 49535343-8841-....
While subscribed it streams 5-byte BCI frames, 10 a second, as a byte stream cut into 7-byte notifications (so
frames straddle notifications, as on the real UART bridge). The frames are the public vector 87 32 05 48 62
(SpO2 98, pulse 72) with the pulse byte stepped once a second through 72..75, so a receiver can tell readings
apart. SIGUSR2 toggles "finger out": then the frames are the public invalid vector 87 00 45 7f 7f.
Every frame is logged as `[periph] frame <hex>`, every notification as `[periph] sent 5343 <hex>`.
"""
import signal

SERVICE = '49535343-fe7d-4ae5-8fa9-9fafd205e455'
NOTIFY = '49535343-1e4d-4bd9-ba61-23c647249616'
WRITE = '49535343-8841-43f4-a8d4-ecbe34729bb3'
VALID = [0x87, 0x32, 0x05, 0x48, 0x62]  # public vector berrymed_bci_5byte
INVALID = [0x87, 0x00, 0x45, 0x7F, 0x7F]  # public vector berrymed_bci_5byte_invalid_values
FRAMES_PER_SECOND = 10
CHUNK = 7


def install(lab):
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
