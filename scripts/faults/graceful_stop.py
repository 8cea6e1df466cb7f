"""Fault suite: graceful stop leaves self-contained databases. boothd records readings (test commands and the
simulator, in a session), gets SIGTERM, and must exit 0 with the WAL of outbox.sqlite and usage.sqlite
checkpointed into the main files (each -wal 0 bytes or absent); the main files alone then hold every reading,
and a restarted boothd replays them all. Prints the shutdown time (SIGTERM to exit) of each cycle.

Usage: python graceful_stop.py BOOTHD [--cycles N] [--readings N]
"""

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from boothd_harness import Boothd, Client, checker  # noqa: E402

BOOTHD = sys.argv[1]
CYCLES = int(sys.argv[sys.argv.index("--cycles") + 1]) if "--cycles" in sys.argv else 3
READINGS = int(sys.argv[sys.argv.index("--readings") + 1]) if "--readings" in sys.argv else 100
SETTINGS = {
    "simulator.mode": "on", "simulator.camera": "false", "simulator.interval_seconds": "0.2",
    "api.test_commands": "true", "api.commands_per_second": "1000",
}
check, failures = checker()
checkpoints = []


def wal_size(path):
    return os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else None


def rows(path, sql):
    """Reads a copy of the main file alone (no -wal beside it): what survives if only the main file is kept."""
    with tempfile.TemporaryDirectory(prefix="boothd-main-") as directory:
        copy = os.path.join(directory, os.path.basename(path))
        shutil.copyfile(path, copy)
        connection = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            return connection.execute(sql).fetchone()[0]
        except sqlite3.Error as error:  # the main file lacks what only the WAL held
            print(f"  main file {os.path.basename(path)} alone: {error}")
            return None
        finally:
            connection.close()


async def cycle(state, index, confirmed):
    daemon = Boothd(BOOTHD, state_dir=state, settings=SETTINGS).start()
    client = await Client.connect(daemon, f"stop-{index}")
    session = f"S-stop-{index}"
    await client.command("session.start", sessionId=session, contextRef="opaque")
    for number in range(READINGS):
        name = f"stop-{index}-{number}"
        reply = await client.command("test.record", measurementId=name)
        if reply["type"] == "result":
            confirmed.append(name)
    await client.drain(1.0)
    await client.command("session.end", sessionId=session)
    await client.drain(1.2)  # the usage aggregator follows the outbox; acks are flushed every 250 ms
    await client.close()
    outbox, usage = os.path.join(state, "outbox.sqlite"), os.path.join(state, "usage.sqlite")
    before = (wal_size(outbox), wal_size(usage))
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    code = daemon.process.wait(timeout=15)
    stop_ms = (time.monotonic() - started) * 1000
    daemon.stop()
    after = (wal_size(outbox), wal_size(usage))
    # boothd logs each checkpoint with its duration: the part of the stop time the checkpoint costs.
    checkpoint_ms = sum(int(part.split("=", 1)[1]) for line in daemon.log_text().splitlines()
                        if "database checkpointed at stop" in line
                        for part in line.split() if part.startswith("ms="))
    os.remove(daemon.log_path)  # the next cycle's boothd appends to a fresh log
    print(f"  cycle {index}: -wal before stop outbox/usage {before} bytes, after {after}; stop {stop_ms:.0f} ms, "
          f"of which checkpoints {checkpoint_ms} ms")
    checkpoints.append(checkpoint_ms)
    check(code == 0, f"cycle {index}: exit 0 on SIGTERM")
    check(all(size in (None, 0) for size in after), f"cycle {index}: outbox and usage -wal empty or absent ({after})")
    stored = rows(outbox, "SELECT count(*) FROM measurements WHERE id LIKE 'stop-%'")
    check(stored == len(confirmed), f"cycle {index}: main outbox file alone holds all {len(confirmed)} test readings "
          f"({stored})")
    sessions = rows(usage, "SELECT coalesce(sum(sessions), 0) FROM daily_sessions")
    cursor = rows(usage, "SELECT coalesce(max(value), 0) FROM meta WHERE key = 'cursor'")
    check(sessions == index + 1 and (cursor or 0) > 0,
          f"cycle {index}: main usage file alone counts the {index + 1} session(s) ({sessions}, cursor {cursor})")
    return stop_ms


async def replay(state, confirmed):
    daemon = Boothd(BOOTHD, state_dir=state, settings=dict(SETTINGS, **{"simulator.mode": "off"})).start()
    try:
        client = await Client.connect(daemon, "replay-after-stops")
        ids = set()
        while True:
            before = len(client.events)
            await client.drain(0.5, ack=False)
            if len(client.events) == before:
                break
        for event in client.events:
            if event["event"] == "measurement":
                ids.add(event["data"]["measurement"]["id"])
        await client.close()
        check(set(confirmed) <= ids, f"restarted boothd replays all {len(confirmed)} confirmed test readings")
    finally:
        check(daemon.stop() == 0, "clean stop")


async def main():
    with tempfile.TemporaryDirectory(prefix="boothd-stop-") as state:
        confirmed = []
        times = [await cycle(state, index, confirmed) for index in range(CYCLES)]
        await replay(state, confirmed)
        print(f"  shutdown (SIGTERM to exit) ms: {[round(t) for t in times]}, median {statistics.median(times):.0f}; "
              f"checkpoints ms: {checkpoints}")
        print("bench-json: " + json.dumps({"gracefulStopMs": [round(t, 1) for t in times],
                                           "checkpointAtStopMs": checkpoints}))


asyncio.run(main())
if failures:
    sys.exit(f"graceful stop: {len(failures)} check(s) failed")
print("graceful stop: passed")
