"""boothd end to end over real BLE, inside the lab guest: boothd (ble.adapter=hci1) reads the simulated device
(peripheral.py on hci0) through real bluetoothd, and a Python `websockets` client checks what reaches the session
WebSocket. Reuses the daemon/client helpers of scripts/test.d/40-api-e2e.py (every frame is schema-validated).

Scenario: the device is listed as `discovered` before it is bonded (ble.connect=bonded), `boothctl pair` bonds it,
boothd connects and a measurement arrives with the values the device sent (raw bytes compared with the device's
log, decoded values checked); the device is switched off and on (gone, reconnect, next reading); bluetoothd is
restarted (reconnect, next reading); no reading is delivered more often than the device sent it; connects and
measurements are counted per device in /metrics.
Figures: advertisement → first measurement on the WebSocket, notification → WebSocket latency.

usage: boothd_e2e.py ROOT BUILD_DIR ADDRESS PERIPHERAL_PID PERIPHERAL_LOG OUT_DIR   (env BLE_BLUETOOTHD_PID)
"""

import asyncio
import collections
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT, BUILD_DIR, ADDRESS, PERIPHERAL_PID, PERIPHERAL_LOG, OUT = sys.argv[1:7]
DEVICE_ID = f"ble:{ADDRESS}"
sys.argv = [sys.argv[0], os.path.join(BUILD_DIR, "boothd"), ROOT]
_spec = importlib.util.spec_from_file_location("api_e2e", os.path.join(ROOT, "scripts/test.d/40-api-e2e.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)
sys.path.insert(0, os.path.join(ROOT, "scripts/lib"))
from boothd_harness import EventFollower  # noqa: E402

failures = 0


def check(what, ok):
    global failures
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    failures += 0 if ok else 1
    return ok


def peripheral_lines(kind, log=PERIPHERAL_LOG):
    """(monotonic time, rest) of the device's log lines `<t> [periph] <kind> ...`."""
    result = []
    for line in open(log):
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[1] == "[periph]" and parts[2].startswith(kind):
            result.append((float(parts[0]), parts[2][len(kind):].strip()))
    return result


def sent_values():
    return [(t, rest.split()[1]) for t, rest in peripheral_lines("sent ") if rest.startswith("2a5f ")]


def sfloat(low, high):
    raw = low | high << 8
    mantissa, exponent = raw & 0x0FFF, raw >> 12
    mantissa -= 0x1000 if mantissa >= 0x800 else 0
    exponent -= 0x10 if exponent >= 0x8 else 0
    return mantissa * 10.0 ** exponent


def raw_hex(measurement):
    return bytes(measurement["raw"]).hex()


async def session(daemon, client_id):
    """The session client: every server message schema-validated (40-api-e2e.py), every event acked."""
    return await EventFollower.open(daemon.url, daemon.token, client_id, devices={DEVICE_ID},
                                    validate=api.check_server, validate_sent=api.client_validator.validate)


def received(follower, since=0):
    """(receive time, measurement) of the device's readings, from the `since`-th on."""
    return [(t, m) for t, m, _ in follower.measurements[since:]]


def values_match_raw(measurement):
    raw = bytes(measurement["raw"])
    spo2, pulse = sfloat(raw[1], raw[2]), sfloat(raw[3], raw[4])
    numbers = {}
    for value in measurement["values"]:
        if "number" in value:
            number = value["number"]["mantissa"] * 10.0 ** value["number"]["exponent"]
            numbers[value["unit"]["code"]] = number
    return numbers.get("%") == spo2 and numbers.get("/min") == pulse and 95 <= spo2 <= 99 and 60 <= pulse <= 99


# BLE_ACQUIRE_NOTIFY=1 (step 61's default): boothd reads notifications through AcquireNotify sockets; indications
# (glucose RACP) fall back to StartNotify.
ACQUIRE_NOTIFY = os.environ.get("BLE_ACQUIRE_NOTIFY", "0") == "1"
ACQUIRE_SET = ["--set", f"ble.acquire_notify={'true' if ACQUIRE_NOTIFY else 'false'}"]
NOTIFY_PROBE = """
import sys, dbus
objects = dbus.Interface(dbus.SystemBus().get_object('org.bluez', '/'),
                         'org.freedesktop.DBus.ObjectManager').GetManagedObjects()
device = '/org/bluez/hci1/dev_' + sys.argv[1].replace(':', '_') + '/'
for path, interfaces in objects.items():
    chrc = interfaces.get('org.bluez.GattCharacteristic1')
    if path.startswith(device) and chrc and str(chrc['UUID']).startswith('0000' + sys.argv[2]):
        print(f"acquired={bool(chrc.get('NotifyAcquired', False))} notifying={bool(chrc.get('Notifying', False))}")
"""


def notify_state(address, short_uuid):
    """bluetoothd's view of boothd's subscription to a characteristic of the device, e.g. `acquired=True ...`."""
    probe = subprocess.run(["python3", "-c", NOTIFY_PROBE, address, short_uuid], capture_output=True, text=True,
                           timeout=20)
    return (probe.stdout.strip() or probe.stderr.strip()[-200:])


def restart_bluetoothd():
    pid = int(os.environ["BLE_BLUETOOTHD_PID"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 10
    while time.time() < deadline and os.path.exists(f"/proc/{pid}") and "zombie" not in open(
            f"/proc/{pid}/status").read():
        time.sleep(0.1)
    time.sleep(1)
    log = open(os.path.join(OUT, "bluetoothd.log"), "ab")
    return subprocess.Popen(["/usr/libexec/bluetooth/bluetoothd", "-n"], stdout=log, stderr=log)


def sent_at(t_received, measurement):
    """When the device sent this reading (its log, same clock): the last send of these bytes before receipt."""
    times = [t for t, value in sent_values() if value == raw_hex(measurement) and t <= t_received]
    return times[-1] if times else None


def measured_after(follower, t):
    """A reading that arrives from now on and that the device sent after `t` (readings still queued from before
    do not count)."""
    since = len(follower.measurements)
    return lambda: any((sent_at(*reading) or 0) > t for reading in received(follower, since))


def metric(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and f'device="{DEVICE_ID}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def main():
    # SQLite needs a local file system (the shared $HWLAB_OUT is 9p): state in the guest's /tmp, log copied out.
    state_dir = tempfile.mkdtemp(prefix="boothd-ble-")
    daemon = api.Daemon(state_dir, api.free_port(), extra=[
        "--set", "ble.adapter=hci1",
        "--set", "ble.connect=bonded",
        *ACQUIRE_SET,
        "--set", f"profiles.directories={ROOT}/firmware-profiles",
    ])
    started = time.monotonic()
    try:
        daemon.start()
        print(f"boothd ready in {time.monotonic() - started:.1f} s", flush=True)
        follower = await session(daemon, "ble-lab")
        check("the device is listed as discovered before it is bonded",
              await follower.wait_for(lambda: any(s["state"] == "discovered" for _, s in follower.statuses), 90,
                                      what="the device listed as discovered"))
        pair = subprocess.run([os.path.join(BUILD_DIR, "boothctl"), "pair", ADDRESS, "--adapter", "hci1", "--json"],
                              capture_output=True, text=True, timeout=90)
        check(f"boothctl pair bonds it (rc={pair.returncode} {pair.stdout.strip()} {pair.stderr.strip()[-200:]})",
              pair.returncode == 0)
        paired_at = time.monotonic()
        since = len(follower.measurements)
        got = await follower.wait_for(lambda: len(follower.measurements) > since, 90, what="a first measurement")
        check(f"first measurement reaches the WebSocket ({time.monotonic() - paired_at:.1f} s after pairing)", got)
        if got:
            first = follower.measurements[since][1]
            sent = {value for _, value in sent_values()}
            check(f"raw bytes are what the device sent ({raw_hex(first)})", raw_hex(first) in sent)
            check(f"decoded values match the bytes: {[(v['unit']['code'], v.get('number')) for v in first['values']]}",
                  first["kind"] == "oxygenSaturation" and values_match_raw(first))
            check(f"measurement names its device and profile: {first['device']}",
                  first["device"].get("profile") == "sig.plx" and first["device"]["transport"] == "ble")
            plx = notify_state(ADDRESS, "2a5f")
            if ACQUIRE_NOTIFY:
                check(f"PLX notifications come through an AcquireNotify socket ({plx})", plx.startswith("acquired=True"))
            else:
                check(f"PLX notifications come through StartNotify ({plx})", "notifying=True" in plx)
        ready = [s for _, s in follower.statuses if s["state"] == "ready" and s.get("batteryPercent") is not None]
        check(f"device ready with battery 87 % and firmware 1.2.3 ({ready[-1] if ready else follower.statuses[-3:]})",
              bool(ready) and ready[-1]["batteryPercent"] == 87 and ready[-1].get("firmware") == "1.2.3")

        # Steady state, with the client doing nothing but reading: the notification -> WebSocket window.
        window_start = len(follower.measurements)
        await asyncio.sleep(8)
        steady = received(follower, window_start)

        # `boothctl measure` (over the session API) prints the device's next readings.
        measure = await asyncio.create_subprocess_exec(
            os.path.join(BUILD_DIR, "boothctl"), "measure", DEVICE_ID, "--count", "2", "--timeout", "40", "--json",
            "--set", f"api.port={daemon.port}", "--set", f"storage.state_directory={daemon.state_dir}",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(measure.communicate(), 60)
        except asyncio.TimeoutError:
            measure.kill()
            out, err = await measure.communicate()
        lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
        sent = {value for _, value in sent_values()}
        check(f"boothctl measure {DEVICE_ID} prints 2 of its readings (rc={measure.returncode}, "
              f"{err.decode().strip()[-160:]!r})",
              measure.returncode == 0 and len(lines) == 2
              and all(m["device"]["id"] == DEVICE_ID and raw_hex(m) in sent for m in lines))

        # Switched off and on.
        off_at = time.monotonic()
        seen = len(follower.statuses)
        os.kill(int(PERIPHERAL_PID), signal.SIGUSR1)
        gone = await follower.wait_for(lambda: any(s["state"] == "gone" for _, s in follower.statuses[seen:]), 30,
                                       what="the device gone")
        check("device reported gone when switched off", gone)
        got = await follower.wait_for(measured_after(follower, off_at), 90, what="a reading sent after switch-on")
        check("a new measurement arrives after the device is switched on again", got)
        switched_on = [t for t, _ in peripheral_lines("switched on")]
        after_on = [t for t, m in received(follower) if switched_on and (sent_at(t, m) or 0) > switched_on[-1]]
        advert_to_measurement = after_on[0] - switched_on[-1] if after_on else None

        # bluetoothd restarted.
        await asyncio.sleep(2)
        restart_at = time.monotonic()
        bluetoothd = restart_bluetoothd()
        got = await follower.wait_for(measured_after(follower, restart_at), 120,
                                      what="a reading sent after the bluetoothd restart")
        back = [t for t, m in received(follower) if (sent_at(t, m) or 0) > restart_at]
        check(f"a new measurement arrives after bluetoothd restarted"
              f" ({back[0] - restart_at:.1f} s)" if back else "a new measurement arrives after bluetoothd restarted",
              got)
        await asyncio.sleep(2)
        await follower.close()
        readings = received(follower)

        sent = sent_values()
        sent_count = collections.Counter(value for _, value in sent)
        received_count = collections.Counter(raw_hex(m) for _, m in readings)
        extra = {k: v for k, v in received_count.items() if v > sent_count[k]}
        check(f"no reading delivered twice ({len(readings)} received, {len(sent)} sent, over-delivered: {extra})",
              not extra and len(readings) >= 3)
        check("every reading decodes to the values in its bytes", all(values_match_raw(m) for _, m in readings))
        with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        connects = metric(metrics, "boothd_device_connects_total")
        measurements = metric(metrics, "boothd_measurements_total")
        check(f"usage counted per device: {connects:.0f} connects, {measurements:.0f} measurements",
              connects >= 3 and measurements >= len(readings))

        # Notification → WebSocket: each reading against the device's own log of sending it (same clock).
        latencies = []
        for t_received, measurement in steady:
            candidates = [t for t, value in sent if value == raw_hex(measurement) and t <= t_received]
            if candidates:
                latencies.append((t_received - candidates[-1]) * 1000)
        latencies.sort()
        if latencies:
            p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
            print(f"figure: notification -> WebSocket latency (ms, n={len(latencies)}): median "
                  f"{statistics.median(latencies):.1f}, p95 {p95:.1f}, max {latencies[-1]:.1f}", flush=True)
        if advert_to_measurement is not None:
            print(f"figure: advertisement (device switched on) -> first measurement on the WebSocket: "
                  f"{advert_to_measurement:.2f} s", flush=True)
        bluetoothd.poll()
    finally:
        daemon.stop()
        shutil.copy(os.path.join(state_dir, "boothd.log"), os.path.join(OUT, "boothd.log"))
        if failures:
            print("--- boothd.log (tail)")
            print("".join(open(os.path.join(state_dir, "boothd.log"), errors="replace").readlines()[-60:]))
    if len(sys.argv) > 0 and os.environ.get("BLE_CENTRAL_ADDRESS"):
        await glucose_scenario(os.environ["BLE_CENTRAL_ADDRESS"])
    print(f"ble boothd e2e: {'all passed' if not failures else f'{failures} check(s) failed'}"
          f" ({api.validated} server messages schema-validated)")
    sys.exit(1 if failures else 0)


GLUCOSE_LOG = os.path.join(OUT, "peripheral-glucose.log")


def glucose_record(sequence):
    """The bytes peripheral.py sends for glucose record `sequence` (see its glucose_record)."""
    mantissa = (90 + sequence) & 0x0FFF
    raw = (0xB << 12) | mantissa  # exponent -5
    return bytes([0x02, sequence & 0xFF, sequence >> 8, 0xEA, 0x07, 11, 25, 8, sequence % 60, 0,
                  raw & 0xFF, raw >> 8, 0x11]).hex()


def run_quiet(*command):
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def remove_bonds(central_address):
    """Forgets the oximeter on both sides, so the same virtual radio can come back as a glucose meter."""
    for adapter, address in (("hci1", ADDRESS), ("hci0", central_address)):
        path = f"/org/bluez/{adapter}/dev_{address.replace(':', '_')}"
        run_quiet("dbus-send", "--system", "--print-reply", "--dest=org.bluez", f"/org/bluez/{adapter}",
                  "org.bluez.Adapter1.RemoveDevice", f"objpath:{path}")


async def glucose_scenario(central_address):
    """Stored records over RACP: all records the first time (as history), then only newer ones after a boothd
    restart (the cursor persists in the state directory), a new reading delivered once; Current Time written to
    the unset clock."""
    os.kill(int(PERIPHERAL_PID), signal.SIGTERM)
    remove_bonds(central_address)
    peripheral = subprocess.Popen(["python3", os.path.join(ROOT, "scripts/hwlab/ble/peripheral.py"), "hci0",
                                   "VLab-Glucose", "glucose"], stdout=open(GLUCOSE_LOG, "w"),
                                  stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not peripheral_lines("advertisement registered", GLUCOSE_LOG):
        await asyncio.sleep(0.3)
    state_dir = tempfile.mkdtemp(prefix="boothd-ble-glucose-")
    # ble.connect=matching: the other policy, and no second pairing of the same virtual radio.
    daemon = api.Daemon(state_dir, api.free_port(), extra=[
        "--set", "ble.adapter=hci1", "--set", "ble.connect=matching",
        *ACQUIRE_SET,
        "--set", f"profiles.directories={ROOT}/firmware-profiles",
    ])
    try:
        daemon.start()
        follower = await session(daemon, "ble-glucose")
        await follower.wait_for(lambda: len(follower.measurements) >= 3, 90, what="3 stored records")
        records = follower.measurements
        raws = [raw_hex(m) for _, m, _ in records]
        check(f"first connection: RACP 'all' delivers the 3 stored records ({len(raws)})",
              raws == [glucose_record(n) for n in (1, 2, 3)])
        check(f"stored records are history: {[b for _, _, b in records]}, kinds "
              f"{sorted({m['kind'] for _, m, _ in records})}",
              len(records) >= 3
              and all(b == "history" and m["kind"] == "glucose" for _, m, b in records))
        writes = peripheral_lines("written ", GLUCOSE_LOG)
        check(f"RACP request 'report all' written: {[w for _, w in writes]}", ("2a52 0101" in [w for _, w in writes]))
        clock = [bytes.fromhex(w.split()[1]) for _, w in writes if w.startswith("2a2b ")]
        year = time.localtime().tm_year
        check(f"Current Time written to the unset clock ({clock[0].hex() if clock else None})",
              bool(clock) and len(clock[0]) == 10 and clock[0][0] | clock[0][1] << 8 == year)
        await follower.close()
        daemon.stop()

        # boothd restarted: only records after the last sequence number seen are asked for.
        daemon.start()
        follower = await session(daemon, "ble-glucose")
        await follower.wait_for(lambda: len(peripheral_lines("written 2a52", GLUCOSE_LOG)) >= 2, 60, interval=1)
        requests = [w for _, w in peripheral_lines("written 2a52", GLUCOSE_LOG)]
        check(f"after a boothd restart RACP asks from sequence number 4: {requests}",
              requests[-1:] == ["0103010400"])
        await asyncio.sleep(3)
        before = len(follower.measurements)
        peripheral.send_signal(signal.SIGUSR2)
        await follower.wait_for(lambda: len(follower.measurements) > before, 30, what="the new glucose reading")
        raws = [raw_hex(m) for _, m, _ in records + follower.measurements]
        check(f"the new reading arrives once, nothing stored is delivered twice ({len(raws)} readings)",
              raws == [glucose_record(n) for n in (1, 2, 3, 4)])
        await follower.close()
    finally:
        daemon.stop()
        peripheral.terminate()
        shutil.copy(os.path.join(state_dir, "boothd.log"), os.path.join(OUT, "boothd-glucose.log"))
        if failures:
            print("--- boothd-glucose.log (tail)")
            print("".join(open(os.path.join(state_dir, "boothd.log"), errors="replace").readlines()[-40:]))


asyncio.run(main())
