"""ECG services for the lab peripheral (loaded by peripheral.py when LAB_SERVICE_MODULES names `ecg_service`):
a Polar-H10-like strap with a synthetic ECG at a known heart rate.

- Heart Rate (0x180D): Heart Rate Measurement 0x2A37 (notify) once a second with skin contact and one RR interval per
  beat (round(1024 × 60 / HEART_RATE)), Body Sensor Location 0x2A38 = chest.
- Polar Measurement Data (fb005c80-…): control point fb005c81-… (write + indicate) answers `f0 02 00 00 00` to the
  ECG start command (02 00 00 01 82 00 01 01 0e 00: 130 Hz, 14 bit) and `f0 03 00 00 00` to stop; data fb005c82-…
  notifies ECG frames: 0x00, uint64 LE ns since 2000-01-01 of the LAST sample, 0x00, int24 LE µV samples. Frames are
  as long as the ATT MTU the central negotiated allows (at most 33 samples), paced by the monotonic clock, stamped
  from the sample index (no jitter in device time).
Every notification is logged as `[periph] sent <uuid> <hex>` (ECG frames: `[periph] ecg frame <n> <samples>`).
"""
import math
import time

HEART_RATE = 72.0
RATE = 130
PMD_SERVICE = 'fb005c80-02e7-f387-1cad-8acd2d8df0c8'
PMD_CONTROL = 'fb005c81-02e7-f387-1cad-8acd2d8df0c8'
PMD_DATA = 'fb005c82-02e7-f387-1cad-8acd2d8df0c8'
START_ECG = [0x02, 0x00, 0x00, 0x01, 0x82, 0x00, 0x01, 0x01, 0x0E, 0x00]
POLAR_EPOCH = 946684800


def synthetic_uv(t):
    """Sum of Gaussian P, Q, R, S, T waves (R = 1.2 mV), R peaks at 0.25 s + k × 60/HEART_RATE."""
    period = 60.0 / HEART_RATE
    x = (t - 0.25) % period
    if x > period / 2:
        x -= period
    waves = ((-0.20, 0.025, 0.12), (-0.03, 0.008, -0.12), (0.0, 0.010, 1.0), (0.03, 0.008, -0.20),
             (0.25, 0.045, 0.30))
    return 1200 * sum(a * math.exp(-((x - c) / w) ** 2 / 2) for c, w, a in waves)


def int24(value):
    raw = int(round(value)) & 0xFFFFFF
    return [raw & 0xFF, (raw >> 8) & 0xFF, raw >> 16]


def install(lab):
    GLib, dbus = lab.GLib, lab.dbus

    class Notifying(lab.Characteristic):
        def send(self, value):
            self.value = value
            self.PropertiesChanged(lab.GATT_CHRC, {'Value': dbus.Array(value, signature='y')}, [])

    class HeartRate(Notifying):
        rr = int(round(1024 * 60 / HEART_RATE))

        @dbus.service.method(lab.GATT_CHRC)
        def StartNotify(self):
            lab.log('subscribed 2a37')
            self.subscribed = True
            if self.timer is None:
                self.timer = GLib.timeout_add(1000, self.beat)

        def beat(self):
            if not self.subscribed:
                self.timer = None
                return False
            self.step += 1
            # One RR interval per beat since the last notification (72/min: 1 or 2 a second).
            total = int(self.step * HEART_RATE / 60)
            beats, self.beats_sent = total - getattr(self, 'beats_sent', 0), total
            flags = 0x16 if beats else 0x06
            value = [flags, int(HEART_RATE)] + [b for _ in range(beats) for b in (self.rr & 0xFF, self.rr >> 8)]
            self.send(value)
            lab.log(f'sent 2a37 {bytes(value).hex()}')
            return True

    class ControlPoint(Notifying):
        @dbus.service.method(lab.GATT_CHRC, in_signature='aya{sv}')
        def WriteValue(self, value, options):
            request = [int(b) for b in value]
            mtu = int(options.get('mtu', 23))
            lab.log(f'written 5c81 {bytes(request).hex()} mtu {mtu}')
            if request == START_ECG:
                data.start(mtu)
                answer = [0xF0, 0x02, 0x00, 0x00, 0x00]
            elif request[:2] == [0x03, 0x00]:
                data.stop()
                answer = [0xF0, 0x03, 0x00, 0x00, 0x00]
            else:
                answer = [0xF0, request[0] if request else 0, request[1] if len(request) > 1 else 0, 0x05, 0x00]
            GLib.idle_add(lambda: self.send(answer) or lab.log(f'sent 5c81 {bytes(answer).hex()}') or False)

    class ECGData(Notifying):
        def start(self, mtu):
            self.per_frame = max(1, min(33, (mtu - 3 - 10) // 3))
            self.started = time.monotonic()
            self.first_ns = int((time.time() - POLAR_EPOCH) * 1e9)
            self.sent_samples = 0
            self.frames = 0
            if self.timer is None:
                self.timer = GLib.timeout_add(20, self.pump)
            lab.log(f'ecg started, {self.per_frame} samples per frame')

        def stop(self):
            if self.timer is not None:
                GLib.source_remove(self.timer)
                self.timer = None
            lab.log(f'ecg stopped after {self.frames} frames, {self.sent_samples} samples')

        def pump(self):
            due = int((time.monotonic() - self.started) * RATE)
            while self.subscribed and self.sent_samples + self.per_frame <= due:
                first = self.sent_samples
                samples = [synthetic_uv((first + i) / RATE) for i in range(self.per_frame)]
                last_ns = self.first_ns + int(round((first + self.per_frame - 1) * 1e9 / RATE))
                frame = [0x00] + list(last_ns.to_bytes(8, 'little')) + [0x00] + [b for s in samples for b in int24(s)]
                self.send(frame)
                self.sent_samples += self.per_frame
                self.frames += 1
                if self.frames % 100 == 1:
                    lab.log(f'ecg frame {self.frames} {self.sent_samples}')
            return True

    hr = lab.Service(lab.app, 20, 0x180D)
    HeartRate(hr, 0x2A37, ['notify'], [0x16, int(HEART_RATE)])
    lab.Characteristic(hr, 0x2A38, ['read'], [0x01])
    pmd = lab.Service(lab.app, 21, 0x180D)
    pmd.uuid = PMD_SERVICE
    control = ControlPoint(pmd, 0x0000, ['write', 'indicate'])
    control.uuid = PMD_CONTROL
    data = ECGData(pmd, 0x0000, ['notify'])
    data.uuid = PMD_DATA
    lab.advertisement.uuids = list(lab.advertisement.uuids) + ['180d']
    lab.log(f'ecg strap: heart rate {HEART_RATE:g}/min, PMD ECG {RATE} Hz')
