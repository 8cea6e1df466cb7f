"""Fault: configuration/profile reload (SIGHUP, what `systemctl reload boothd` sends) under load.

boothd runs the simulator (fast readings) and the repository's firmware profiles; a producer records
measurements through the API as fast as boothd accepts while SIGHUP is sent every 50 ms. Checks: every
measurement confirmed durable is delivered to the subscribed client exactly once, the simulator keeps
producing during the reloads, each reload is logged, boothd stays up, no error-level log line.

Usage: python sighup_load.py BOOTHD REPO_ROOT [RELOADS]
"""

import asyncio
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from boothd_harness import Boothd, Client, checker  # noqa: E402

BOOTHD, ROOT = sys.argv[1], sys.argv[2]
RELOADS = int(sys.argv[3]) if len(sys.argv) > 3 else 60
check, failures = checker()


async def main():
    daemon = Boothd(BOOTHD, settings={
        "simulator.mode": "on", "simulator.camera": "false", "simulator.interval_seconds": "0.05",
        "api.test_commands": "true", "api.commands_per_second": "5000",
        "profiles.directories": os.path.join(ROOT, "firmware-profiles"),
    }).start()
    try:
        subscriber = await Client.connect(daemon, "hup-sub")
        producer = await Client.connect(daemon, "hup-pub")
        confirmed = []
        done = asyncio.Event()

        async def produce():
            index = 0
            while not done.is_set():
                reply = await producer.command("test.record", measurementId=f"hup-{index}")
                if reply["type"] == "result":
                    confirmed.append(f"hup-{index}")
                index += 1

        async def hangups():
            for _ in range(RELOADS):
                daemon.signal(signal.SIGHUP)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            done.set()

        seen = {}
        simulated_during = [0]

        async def consume():
            # After the reloads: until every confirmed reading arrived (the outbox pushes on its own task, after
            # the replies), bounded by drain_until; then 0.5 s more, so that a second delivery would be seen.
            waiting = None  # confirmed readings not seen yet, once the producer has stopped
            while not done.is_set() or time.monotonic() < drain_until[0]:
                if drain_until[0] != float("inf") and waiting is None:
                    waiting = set(confirmed) - set(seen)
                if waiting is not None and not waiting:
                    drain_until[0] = min(drain_until[0], time.monotonic() + 0.5)
                    waiting = False
                try:
                    message = json.loads(await asyncio.wait_for(subscriber.ws.recv(), 0.5))
                except asyncio.TimeoutError:
                    continue
                if message["type"] == "event" and message["event"] == "measurement":
                    measurement = message["data"]["measurement"]
                    seen[measurement["id"]] = seen.get(measurement["id"], 0) + 1
                    if waiting:
                        waiting.discard(measurement["id"])
                    if measurement["device"]["id"].startswith("sim:") and not done.is_set():
                        simulated_during[0] += 1
                    if message["id"] % 20 == 0:
                        await subscriber.ws.send(json.dumps({"type": "ack", "upTo": message["id"]}))

        drain_until = [float("inf")]
        consumer = asyncio.create_task(consume())
        await asyncio.gather(produce(), hangups())
        drain_until[0] = time.monotonic() + 20
        await consumer
        missing = [mid for mid in confirmed if mid not in seen]
        duplicates = [mid for mid, count in seen.items() if count > 1]
        log = daemon.log_text()
        reloads = log.count("firmware profiles reloaded")
        errors = [line for line in log.splitlines() if " error " in line or " critical " in line]
        check(len(confirmed) > 100, f"{len(confirmed)} measurements confirmed during {RELOADS} reloads")
        check(not missing, f"every confirmed measurement delivered (missing {len(missing)})")
        check(not duplicates, f"none delivered twice ({len(duplicates)} duplicates)")
        check(simulated_during[0] > 0, f"simulator kept producing during the reloads ({simulated_during[0]} readings)")
        check(reloads >= RELOADS * 0.5, f"reloads logged: {reloads} of {RELOADS} signals (signals may coalesce)")
        check(daemon.alive(), "boothd still running")
        check(not errors, f"no error-level log lines ({errors[:2]})")
        await subscriber.close()
        await producer.close()
        check(daemon.stop() == 0, "clean stop")
    finally:
        daemon.cleanup()
    if failures:
        sys.exit(f"sighup-load fault: {len(failures)} check(s) failed")
    print("sighup-load fault: passed")


asyncio.run(main())
