"""Soak: a compressed 24 h booth day on the simulator, in N real minutes.

The day is compressed by factor F = 24 h / N min. boothd runs every simulated device (oximeter, BP cuff,
thermometer, camera) with its reading interval divided by F, and a retention of 6 simulated hours (so the
retention purge runs and deletes, every twelfth of that). A Python "kiosk" client stays connected all day: it
starts a consultation every 10 simulated minutes, lasting 6, assigns the readings that arrived between sessions
to the next one (or discards the ones from the night), ends it, and acknowledges every event.

Sampled every few seconds: RSS, fds, threads, outbox file size. Passes when, after warm-up (first quarter),
RSS and fds stay flat, the outbox is drained (cursor == last event), every reading taken during a session
is bound to it, and boothd logged nothing at error level. Writes a JSON result.

Usage: python soak.py BOOTHD [--minutes N] [--results DIR]
"""

import argparse
import asyncio
import datetime
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from boothd_harness import Boothd, Client, SessionEventOrder, checker  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("boothd")
parser.add_argument("--minutes", type=float, default=10)
parser.add_argument("--results", default=None)
parser.add_argument("--camera", default="true")
args = parser.parse_args()

DAY = 24 * 3600
REAL = args.minutes * 60
FACTOR = DAY / REAL
SESSION_EVERY = 600 / FACTOR     # a consultation every 10 simulated minutes
SESSION_LENGTH = 360 / FACTOR    # lasting 6
RETENTION_HOURS = 6 / FACTOR     # 6 simulated hours
INTERVAL = max(0.05, 15 / FACTOR)  # the simulator's 15 s oximeter interval, compressed (boothd's floor: 50 ms)
check, failures = checker()


async def day(daemon):
    kiosk = await Client.connect(daemon, "soak-kiosk")
    samples = []
    counts = {"sessions": 0, "assigned": 0, "discarded": 0, "measurements": 0, "in_session": 0, "misbound": 0,
              "late_events": 0, "command_errors": 0}
    unassigned = []
    active = [None]
    bound = []  # (event id, sessionId, receivedAtMicros, session active at the kiosk when the event arrived)
    windows = {}  # sessionId -> [startedAtMicros, endedAtMicros] (from the replies and the session events)
    session_events = SessionEventOrder()
    started = time.monotonic()
    next_sample = started
    stop = started + REAL
    newest = [0]

    async def pump(seconds):
        """Reads events for `seconds`, acking as it goes; records bindings."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(kiosk.ws.recv(), left))
            except asyncio.TimeoutError:
                break
            handle(message)
        if newest[0]:
            await kiosk.ws.send(json.dumps({"type": "ack", "upTo": newest[0]}))

    def handle(message):
        if message["type"] != "event":
            return
        newest[0] = max(newest[0], message["id"])
        if message["event"] == "measurement":
            counts["measurements"] += 1
            data = message["data"]
            if data["binding"] == "unassigned":
                unassigned.append(data["measurement"]["id"])
            elif data["binding"] == "session":
                counts["in_session"] += 1
                # The event may reach the kiosk after the session.end reply (the outbox pushes on its own task), so
                # the check is on boothd's own data: the reading was received inside the window of the session it
                # is bound to (boothd's clock), and its event was written between that session's started and ended
                # events (event ids: boothd's one serial writer, where the binding is decided).
                bound.append((message["id"], data["sessionId"], data["measurement"]["receivedAtMicros"], active[0]))
        elif message["event"] in ("session.started", "session.ended"):
            note_window(message["data"])
            session_events.note(message)

    def note_window(session):
        window = windows.setdefault(session["id"], [None, None])
        window[0] = session.get("startedAtMicros", window[0])
        window[1] = session.get("endedAtMicros", window[1])

    async def command(name, **params):
        reply = await kiosk.command(name, **params)
        # Events read while waiting for the reply go through the same bookkeeping.
        for event in kiosk.events:
            handle(event)
        kiosk.events.clear()
        if reply["type"] != "result":
            counts["command_errors"] += 1
            print(f"    command {name} failed: {reply}")
        elif name in ("session.start", "session.end"):
            note_window(reply["data"]["session"])
        return reply

    index = 0
    while time.monotonic() < stop:
        sim_hour = (time.monotonic() - started) * FACTOR / 3600
        session_id = f"soak-{index:04d}"
        active[0] = session_id
        await command("session.start", sessionId=session_id, contextRef=f"soak-ctx-{index}")
        counts["sessions"] += 1
        # Between-session readings: the nurse assigns those of the last 10 minutes by day; discards the night's.
        pending, unassigned[:] = list(unassigned), []
        for measurement_id in pending[-3:]:
            if 7 <= sim_hour % 24 <= 21:
                reply = await command("measurement.assign", measurementId=measurement_id, reason="soak: same patient")
                counts["assigned"] += reply["type"] == "result"
            else:
                reply = await command("measurement.discard", measurementId=measurement_id, reason="soak: night")
                counts["discarded"] += reply["type"] == "result"
        for measurement_id in pending[:-3]:
            reply = await command("measurement.discard", measurementId=measurement_id, reason="soak: stale")
            counts["discarded"] += reply["type"] == "result"
        await pump(SESSION_LENGTH)
        await command("session.end", sessionId=session_id)
        active[0] = None
        await pump(max(0.0, SESSION_EVERY - SESSION_LENGTH))
        index += 1
        if time.monotonic() >= next_sample:
            sample = {"t": round(time.monotonic() - started, 1), "sim_hour": round(sim_hour, 2),
                      "rss_mib": round(daemon.rss_mib(), 1), "fds": daemon.fds(), "threads": daemon.threads(),
                      "outbox_kib": sum(os.path.getsize(os.path.join(daemon.state_dir, name)) // 1024
                                        for name in os.listdir(daemon.state_dir) if name.startswith("outbox.sqlite")),
                      "events": newest[0]}
            samples.append(sample)
            next_sample += max(2.0, REAL / 40)
    await pump(2)
    await kiosk.close()
    # Drained: a reconnecting kiosk has nothing left to replay.
    again = await Client.connect(daemon, "soak-kiosk")
    # The simulator keeps measuring after the kiosk left: a few newer events may exist; everything the kiosk got
    # must be acknowledged durably.
    drained = (again.welcome["cursor"], again.welcome["lastEventId"], newest[0])
    await again.close()
    for event_id, session_id, received, active_then in bound:
        start, end = windows.get(session_id, [None, None])
        # Every session was ended (its reply and its event give the end): an unknown end is a failure too.
        if start is None or end is None or not start <= received <= end:
            counts["misbound"] += 1
            print(f"    misbound: reading received at {received} bound to {session_id} (window {start}..{end})")
        elif not session_events.contains(session_id, event_id):
            counts["misbound"] += 1
            first, last = session_events.bounds(session_id)
            print(f"    misbound: reading event {event_id} bound to {session_id} (session events {first}..{last})")
        elif active_then != session_id:
            counts["late_events"] += 1
    return samples, counts, drained


def main():
    daemon = Boothd(args.boothd, settings={
        "simulator.mode": "on", "simulator.camera": args.camera, "simulator.interval_seconds": f"{INTERVAL:.3f}",
        "storage.retention_hours": f"{RETENTION_HOURS:.5f}", "logging.level": "info",
        "api.commands_per_second": "1000",
    }).start()
    print(f"soak: 24 h booth day in {args.minutes:g} min (x{FACTOR:.0f}); a session every {SESSION_EVERY:.2f} s, "
          f"readings every {INTERVAL:.2f} s, retention {RETENTION_HOURS * 3600:.0f} s; boothd {args.boothd}")
    try:
        samples, counts, drained = asyncio.run(day(daemon))
        log = daemon.log_text()
        alive = daemon.alive()
        exit_code = daemon.stop()
    finally:
        daemon.cleanup()
    print(f"{'t (s)':>7} {'sim h':>6} {'RSS MiB':>8} {'fds':>4} {'thr':>4} {'outbox KiB':>10} {'events':>7}")
    for sample in samples:
        print(f"{sample['t']:>7} {sample['sim_hour']:>6} {sample['rss_mib']:>8} {sample['fds']:>4} "
              f"{sample['threads']:>4} {sample['outbox_kib']:>10} {sample['events']:>7}")
    warm = samples[len(samples) // 4:]
    half = max(1, len(warm) // 2)
    early = statistics.median(s["rss_mib"] for s in warm[:half])
    late = statistics.median(s["rss_mib"] for s in warm[half:]) if len(warm) > 1 else early
    fds_after = [s["fds"] for s in warm]
    errors = [line for line in log.splitlines() if " error " in line or " critical " in line]
    purges = log.count("retention purge")
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "minutes": args.minutes, "factor": round(FACTOR), "counts": counts, "samples": samples,
        "rss_mib_warm_early": early, "rss_mib_warm_late": late, "rss_mib_max": max(s["rss_mib"] for s in samples),
        "fds_min_after_warmup": min(fds_after), "fds_max_after_warmup": max(fds_after),
        "drained": {"cursor": drained[0], "last_event": drained[1], "last_seen_by_kiosk": drained[2]},
        "purges_logged": purges,
        "error_lines": errors[:20], "exit": exit_code,
    }
    print(f"sessions {counts['sessions']}, measurements {counts['measurements']} ({counts['in_session']} in a "
          f"session, {counts['late_events']} of them reached the kiosk after the session.end reply), "
          f"assigned {counts['assigned']}, discarded {counts['discarded']}; purges with deletions {purges}")
    print(f"RSS after warm-up: median {early} -> {late} MiB (max {result['rss_mib_max']}); fds {min(fds_after)}..."
          f"{max(fds_after)}; outbox cursor {drained[0]} of {drained[1]}")
    check(alive and exit_code == 0, "boothd ran the whole day and stopped cleanly")
    check(late - early <= max(2.0, early * 0.05), f"RSS flat after warm-up ({early} -> {late} MiB)")
    check(max(fds_after) - min(fds_after) <= 2, f"fds flat after warm-up ({min(fds_after)}..{max(fds_after)})")
    check(drained[0] == drained[2] and drained[1] - drained[0] <= 5,
          f"outbox drained (cursor {drained[0]} == last event the kiosk received {drained[2]}; "
          f"{drained[1] - drained[0]} newer since it left)")
    check(counts["misbound"] == 0, "every in-session reading bound to the session active then")
    check(counts["command_errors"] == 0, "every kiosk command succeeded")
    check(counts["in_session"] > 0 and counts["sessions"] > 10, "sessions ran and got readings")
    check(purges > 0, "the retention purge ran and deleted delivered data")
    check(not errors, f"no error-level log lines ({errors[:2]})")
    result["passed"] = not failures
    results = args.results or os.path.join(os.path.dirname(__file__), "..", "..", ".build", "soak-results")
    os.makedirs(results, exist_ok=True)
    path = os.path.join(results, datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"result: {os.path.abspath(path)}")
    if failures:
        sys.exit(f"soak: {len(failures)} check(s) failed")
    print("soak: passed")


main()
