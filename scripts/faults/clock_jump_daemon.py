"""Fault: the machine's wall clock stepped back and forward (`date -s`, as an NTP step does) under the real boothd
while sessions run. Meant for the lab VM (scripts/faults/clock-jump-vm.sh): it changes the clock of the machine
it runs on, and restores it at the end.

Steps: back 1 h during a session, forward 48 h in the next one, back to true time; the simulator keeps producing.
Checks: timers keep running after every step (watchdog pings on NOTIFY_SOCKET, simulator readings), boothd stays
up and healthy, the devices stay ready, event ids keep increasing in arrival order, no reading is ever bound to a
session other than the one active when it arrived, every reading delivered after the backward step during S1 (and
after the forward step during S2) is in that session (the boot clock decides, not the stepped wall clock), a session
never ends before it started, every confirmed test measurement is delivered once, no error-level log line.
(libfaketime is no substitute: under it boothd's timers stalled after a backward step, which a real step in the
VM does not do.)

Usage: python clock_jump_daemon.py BOOTHD --date-s
"""

import asyncio
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from boothd_harness import Boothd, Client, SessionEventOrder, checker  # noqa: E402

BOOTHD = sys.argv[1]
check, failures = checker()


class WallClock:
    """Steps the machine's clock with date(1), relative to true time; restore() puts it back."""

    SECONDS = {"+0": 0, "-3600": -3600, "+2d": 2 * 86400}

    def __init__(self):
        self.applied = 0

    def set(self, offset):
        target = time.time() - self.applied + self.SECONDS[offset]
        subprocess.run(["date", "-u", "-s", f"@{target:.3f}"], check=True, capture_output=True)
        self.applied = self.SECONDS[offset]

    def restore(self):
        if self.applied:
            self.set("+0")


async def main(state):
    clock = WallClock()
    daemon = Boothd(BOOTHD, state_dir=state, env={"WATCHDOG_USEC": "2000000"}, settings={
        "simulator.mode": "on", "simulator.camera": "false", "simulator.interval_seconds": "0.2",
        "api.test_commands": "true", "api.commands_per_second": "1000",
    }).start()
    try:
        kiosk = await Client.connect(daemon, "clock-kiosk")
        confirmed = []
        active = {"id": None}
        bindings = []  # (event id, measurement id, binding, sessionId, session active when it was read)
        # sessionId -> [session.started event id, session.ended event id]: boothd's own order. The wall clock is
        # stepped here, so "bound to the session active then" is checked on event ids (the binding is decided in
        # the serial writer that also writes the session events), not on the times nor on when the kiosk read it
        # (the outbox pushes on its own task: an event may reach the kiosk after the reply to a later command).
        session_events = SessionEventOrder()

        async def pump(seconds):
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:
                    message = json.loads(await asyncio.wait_for(kiosk.ws.recv(), left))
                except asyncio.TimeoutError:
                    break
                kiosk.events.append(message)
            for message in kiosk.events:
                if message.get("type") == "event" and message["event"] == "measurement":
                    data = message["data"]
                    bindings.append((message["id"], data["measurement"]["id"], data["binding"], data["sessionId"],
                                     active["id"]))
                else:
                    session_events.note(message)
            if kiosk.events:
                newest = max(m["id"] for m in kiosk.events if m.get("type") == "event")
                await kiosk.ws.send(json.dumps({"type": "ack", "upTo": newest}))
            kiosk.events.clear()

        async def record(name):
            reply = await kiosk.command("test.record", measurementId=name)
            if reply["type"] == "result":
                confirmed.append(name)

        health = {}
        slices = {}  # phase -> every reading (test and simulated) delivered during it

        def pings():
            count = 0
            daemon.notify.sock.setblocking(False)
            try:
                while True:
                    count += "WATCHDOG=1" in daemon.notify.sock.recv(4096).decode(errors="replace").split("\n")
            except (BlockingIOError, OSError):
                pass
            daemon.notify.sock.setblocking(True)
            return count

        async def phase(label, offset, session):
            if offset is not None:
                clock.set(offset)
                await asyncio.sleep(0.5)
            pings()
            before = len(bindings)
            if session:
                reply = await kiosk.command("session.start", sessionId=session, contextRef=f"ref-{session}")
                check(reply["type"] == "result", f"{label}: session {session} started")
                active["id"] = session
            for index in range(5):
                await record(f"{label}-{index}")
                await pump(0.3)
            await pump(2.0)
            simulated_now = sum(1 for entry in bindings[before:] if not entry[1].startswith(label))
            health[label] = (pings(), simulated_now)
            slices[label] = bindings[before:]

        async def end(session):
            reply = await kiosk.command("session.end", sessionId=session)
            await pump(0.2)
            active["id"] = None
            data = reply.get("data", {}).get("session", {})
            check(reply["type"] == "result" and data.get("endedAtMicros", 0) >= data.get("startedAtMicros", 1),
                  f"session {session} ended, not before it started")

        await phase("true-time", None, "S1")
        await phase("back-1h", "-3600", None)       # NTP steps back during S1
        await end("S1")
        await phase("still-back", None, "S2")       # S2 starts "before" S1 by the wall clock
        await phase("forward-48h", "+2d", None)     # then the clock jumps two days ahead
        await end("S2")
        await phase("true-again", "+0", None)       # and back to true time, no session
        await kiosk.close()

        ids = [entry[0] for entry in bindings]
        delivered = [entry[1] for entry in bindings]
        misbound = [entry for entry in bindings
                    if entry[2] == "session" and not session_events.contains(entry[3], entry[0])]
        # Bound readings whose event reached the kiosk while it held another session (or none) active: delivery
        # order only, counted for the record.
        late = sum(1 for entry in bindings if entry[2] == "session" and entry[3] != entry[4])
        per_phase = {}
        labels = ("true-time", "back-1h", "still-back", "forward-48h", "true-again")
        for _, measurement, binding, session, _ in bindings:
            label = measurement.rsplit("-", 1)[0]
            if label in labels:
                per_phase.setdefault(label, set()).add(f"{binding}:{session}")
        print(f"  test readings per phase (binding:session): {per_phase}")
        simulated = [entry for entry in bindings if entry[1] not in confirmed]
        print(f"  per phase (watchdog pings, simulator readings): {health}")
        check(all(p > 0 and r > 0 for p, r in health.values()),
              "timers keep running after each step: watchdog pings and simulator readings in every phase")
        check(ids == sorted(ids) and len(set(ids)) == len(ids), f"{len(ids)} events in increasing id order")
        check(all(name in delivered for name in confirmed) and len(set(delivered)) == len(delivered),
              f"all {len(confirmed)} confirmed test measurements delivered once")
        check(len(simulated) > 20, f"simulator kept producing across the jumps ({len(simulated)} readings)")
        check(set(session_events.ids) == {"S1", "S2"} and all(None not in ids for ids in session_events.ids.values()),
              f"both sessions' started and ended events received ({session_events.ids})")
        check(not misbound, f"no reading bound to a session other than the one active in boothd when it was written "
              f"(its event between that session's started and ended events; {misbound[:2]}); {late} reached the "
              "kiosk while it held another session active")
        check(per_phase.get("true-time") == {"session:S1"} and per_phase.get("still-back") == {"session:S2"}
              and per_phase.get("forward-48h") == {"session:S2"} and per_phase.get("true-again") == {"unassigned:None"},
              "readings go to the session active when they arrive")
        # The boot clock decides within one boot: a backward step during S1 leaves no live reading unassigned.
        check(per_phase.get("back-1h") == {"session:S1"},
              f"test readings after the backward step during S1 land in S1: {per_phase.get('back-1h')}")
        for label, session in (("back-1h", "S1"), ("forward-48h", "S2")):
            outcome = {}
            for entry in slices.get(label, []):
                key = f"{entry[2]}:{entry[3]}"
                outcome[key] = outcome.get(key, 0) + 1
            print(f"  every reading delivered in phase {label} (binding:session: count): {outcome}")
            check(outcome and set(outcome) == {f"session:{session}"},
                  f"all {sum(outcome.values())} readings (simulated too) of phase {label} in {session}")
        status, body = daemon.http("/healthz")
        check(daemon.alive() and status == 200, "boothd up and healthy at the end")
        devices = await Client.connect(daemon, "clock-check")
        listing = await devices.command("devices.list") if "devices.list" in devices.welcome["capabilities"]["commands"] else None
        await devices.close()
        if listing:
            states = {d["id"]: d["state"] for d in listing["data"]["devices"]}
            check(all(state == "ready" for state in states.values()), f"devices still ready: {states}")
        log = daemon.log_text()
        errors = [line for line in log.splitlines() if " error " in line or " critical " in line]
        check(not errors, f"no error-level log lines ({errors[:2]})")
        check(daemon.stop() == 0, "clean stop")
    finally:
        clock.restore()
        daemon.cleanup()


if "--date-s" not in sys.argv:
    sys.exit("clock_jump_daemon.py steps this machine's clock: run it in the lab VM (scripts/faults/clock-jump-vm.sh)")
directory = f"/tmp/boothd-fault-clock-{os.getpid()}"
os.makedirs(directory, exist_ok=True)
try:
    asyncio.run(main(directory))
finally:
    os.system(f"rm -rf {directory}")
if failures:
    sys.exit(f"clock-jump (daemon) fault: {len(failures)} check(s) failed")
print("clock-jump (daemon) fault: passed")
