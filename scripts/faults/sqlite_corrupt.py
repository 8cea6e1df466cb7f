"""Fault: outbox.sqlite corrupted with garbage bytes, (a) while boothd is stopped, (b) while it is running.

Checks: boothd always reaches READY (no crash loop under systemd), the damaged database is moved aside
(outbox.sqlite.corrupt-*) and a new one started, the API tells clients (welcome/healthz storage state
"degraded" with the reason; commands answered with a typed storage_* error while the file is damaged), recording
works again after the restart, and boothd never dies on its own.

Usage: python sqlite_corrupt.py BOOTHD
"""

import asyncio
import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from boothd_harness import Boothd, Client, checker  # noqa: E402

BOOTHD = sys.argv[1]
SETTINGS = {"simulator.mode": "off", "api.test_commands": "true", "api.commands_per_second": "1000"}
check, failures = checker()


def garbage(path, offset, length, seed):
    import random
    generator = random.Random(seed)
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes(generator.getrandbits(8) for _ in range(length)))
        f.flush()
        os.fsync(f.fileno())


def health(daemon):
    status, body = daemon.http("/healthz")
    return status, json.loads(body)


async def record(daemon, prefix, count):
    client = await Client.connect(daemon, f"rec-{prefix}")
    replies = [await client.command("test.record", measurementId=f"{prefix}-{index}") for index in range(count)]
    await client.close()
    return client.welcome, replies


async def stopped(state):
    print("(a) garbage written while boothd is stopped")
    daemon = Boothd(BOOTHD, state_dir=state, settings=SETTINGS).start()
    _, replies = await record(daemon, "before", 20)
    check(all(reply["type"] == "result" for reply in replies), "20 measurements recorded before the damage")
    check(daemon.stop() == 0, "clean stop")
    path = os.path.join(state, "outbox.sqlite")
    # The WAL holds every page not yet checkpointed and SQLite prefers it to the main file: damage both (a file
    # overwritten with garbage while the WAL still describes it would just be read from the WAL).
    garbage(path, 0, os.path.getsize(path), seed=1)
    if os.path.exists(path + "-wal"):
        garbage(path + "-wal", 0, min(4096, os.path.getsize(path + "-wal")), seed=2)
    daemon = Boothd(BOOTHD, state_dir=state, settings=SETTINGS).start()
    welcome, replies = await record(daemon, "after", 5)
    code, body = health(daemon)
    moved = glob.glob(path + ".corrupt-*")
    check(len([name for name in moved if not name.endswith(("-wal", "-shm"))]) == 1,
          f"damaged database moved aside ({[os.path.basename(name) for name in moved]})")
    check(welcome["storage"]["state"] == "degraded" and "moved to" in (welcome["storage"]["reason"] or ""),
          f"welcome tells the client: {welcome['storage']}")
    check(code == 200 and body["storage"]["state"] == "degraded", f"healthz: {body['storage']['state']}")
    check(all(reply["type"] == "result" for reply in replies), "recording works on the new database")
    check("outbox database is damaged" in daemon.log_text(), "critical log line names the damage")
    check(daemon.stop() == 0, "clean stop")
    # No crash loop: three more starts in a row come up READY and keep the one quarantined file.
    for attempt in range(3):
        daemon = Boothd(BOOTHD, state_dir=state, settings=SETTINGS).start()
        status, body = health(daemon)
        check(status == 200 and daemon.stop() == 0, f"restart {attempt + 1}: READY, storage {body['storage']['state']}")
    check(len([n for n in glob.glob(path + ".corrupt-*") if not n.endswith(("-wal", "-shm"))]) == 1,
          "still exactly one quarantined file")


async def running(state):
    print("(b) garbage written while boothd is running")
    daemon = Boothd(BOOTHD, state_dir=state, settings=SETTINGS).start()
    _, replies = await record(daemon, "live", 50)
    check(all(reply["type"] == "result" for reply in replies), "50 measurements recorded")
    path = os.path.join(state, "outbox.sqlite")
    garbage(path, 0, os.path.getsize(path), seed=3)
    garbage(path + "-wal", 0, os.path.getsize(path + "-wal"), seed=4)
    # Keep using it: a new client replays from the damaged file; recording continues.
    outcomes = {}
    try:
        _, replies = await record(daemon, "damaged", 30)
        for reply in replies:
            key = reply["type"] if reply["type"] == "result" else reply.get("code", "?")
            outcomes[key] = outcomes.get(key, 0) + 1
    except Exception as error:  # a refused connection is acceptable; a dead daemon is not
        outcomes["client-error"] = repr(error)[:120]
    errors = {key for key in outcomes if key != "result"}
    check(errors <= {"storage_corrupt", "storage_unavailable", "client-error"},
          f"only typed storage errors while damaged: {outcomes}")
    status, body = health(daemon)
    check(daemon.alive() and status == 200, f"boothd still serving (healthz storage {body['storage']})")
    check(daemon.stop() in (0, None), "clean stop")
    daemon = Boothd(BOOTHD, state_dir=state, settings=SETTINGS).start()
    welcome, replies = await record(daemon, "recovered", 5)
    check(len(glob.glob(path + ".corrupt-*")) >= 1, "restart moved the damaged database aside")
    check(welcome["storage"]["state"] == "degraded", f"clients told: {welcome['storage']['reason']}")
    check(all(reply["type"] == "result" for reply in replies), "recording works after the restart")
    check(daemon.stop() == 0, "clean stop")


async def main():
    for phase in (stopped, running):
        daemon_dir = os.path.join("/tmp", f"boothd-fault-sqlite-{os.getpid()}-{phase.__name__}")
        os.makedirs(daemon_dir, exist_ok=True)
        try:
            await phase(daemon_dir)
        finally:
            os.system(f"rm -rf {daemon_dir}")
    if failures:
        sys.exit(f"sqlite-corrupt fault: {len(failures)} check(s) failed")
    print("sqlite-corrupt fault: passed")


asyncio.run(main())
