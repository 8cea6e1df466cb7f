"""Readiness check timing against the running boothd (see run.sh). Usage: readiness_bench.py BOOTHD ROOT RUNS"""

import asyncio
import importlib.util
import os
import sys
import tempfile
import time

ROOT = sys.argv[2]
RUNS = int(sys.argv[3])
_spec = importlib.util.spec_from_file_location("api_e2e", os.path.join(ROOT, "scripts/test.d/40-api-e2e.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)


def percentiles(values):
    values = sorted(values)
    return values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.99))], values[-1]


async def main():
    with tempfile.TemporaryDirectory(prefix="boothd-bench-readiness-") as state_dir:
        daemon = api.Daemon(state_dir, api.free_port(), extra=[
            "--set", "simulator.mode=on", "--set", "booth.inventory=oximeter,bp,thermometer,glucometer,otoscope"])
        daemon.start()
        try:
            ws, _ = await api.connect(daemon, "bench")
            await asyncio.sleep(6)  # the simulated devices connect
            checks, trips = [], []
            for index in range(RUNS):
                started = time.perf_counter()
                reply = await api.command(ws, f"r{index}", "readiness")
                trips.append((time.perf_counter() - started) * 1000)
                assert reply["type"] == "result", reply
                checks.append(reply["data"]["durationMicros"] / 1000)
            levels = {r["role"]: r["level"] for r in reply["data"]["report"]["results"]}
            await ws.close()
        finally:
            daemon.stop()
    check = percentiles(checks)
    trip = percentiles(trips)
    print(f"readiness over {RUNS} runs, inventory {levels}")
    print(f"  check (devices + camera frame probe): p50 {check[0]:.2f} ms  p99 {check[1]:.2f} ms  max {check[2]:.2f} ms")
    print(f"  client round trip (incl. durable readiness.report event): p50 {trip[0]:.2f} ms  p99 {trip[1]:.2f} ms"
          f"  max {trip[2]:.2f} ms")


asyncio.run(main())
