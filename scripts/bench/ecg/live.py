"""ECG live-path benchmark on boothd's simulator: waveform notification → WebSocket latency, and strip on command →
`artifact` event (render + durable store) time. Prints figures.

Latency = client receive time − the chunk's `receivedAtMicros` (when boothd's driver got the PMD notification that
completed the chunk; same host clock). The simulated strap notifies in-process, so this is boothd's own path:
driver → chunker → feed → session pump → WebSocket → client.

usage: live.py BOOTHD_BINARY REPO_ROOT [SECONDS] [CLIENTS]
"""

import asyncio
import importlib.util
import os
import statistics
import sys
import tempfile
import time

ROOT = sys.argv[2]
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 20
CLIENTS = int(sys.argv[4]) if len(sys.argv) > 4 else 1
_spec = importlib.util.spec_from_file_location("api_e2e", os.path.join(ROOT, "scripts/test.d/40-api-e2e.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)


async def command(ws, request_id, name, **params):
    await api.send(ws, {"type": "command", "id": request_id, "command": name, "params": params})
    while True:
        message = await api.recv(ws, 15)
        if message["type"] in ("result", "error") and message["id"] == request_id:
            return message


async def watch(daemon, index, latencies):
    ws, _ = await api.connect(daemon, f"bench-{index}")
    # The newest chunk is sent at once on subscribe (possibly before the result): only later ones are timed.
    reply = await command(ws, "w", "waveform.subscribe", deviceId="sim:ecg")
    live_after = reply["data"]["devices"][0]["lastSeq"]
    deadline = time.time() + SECONDS
    while time.time() < deadline:
        message = await api.recv(ws, 5)
        if message["type"] == "waveform" and message["seq"] > live_after:
            latencies.append(time.time() * 1000 - message["receivedAtMicros"] / 1000)
    await ws.close()


async def strip(daemon, seconds=10):
    ws, _ = await api.connect(daemon, "bench-strip")
    reply = await command(ws, "s", "ecg.strip", deviceId="sim:ecg", seconds=seconds)
    started = time.time()
    artifact_id = reply["data"]["artifactId"]
    while True:
        message = await api.recv(ws, 60)
        if message["type"] == "event" and message["event"] == "artifact" \
                and message["data"]["artifact"]["id"] == artifact_id:
            await ws.close()
            return time.time() - started - seconds, message["data"]["artifact"]


def figures(name, values):
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"{name}: n={len(ordered)} median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms, "
          f"max {ordered[-1]:.2f} ms")


async def main():
    with tempfile.TemporaryDirectory(prefix="boothd-ecg-bench-") as state_dir:
        daemon = api.Daemon(state_dir, api.free_port(), extra=[
            "--set", "simulator.mode=on", "--set", "simulator.camera=false", "--set", "logging.level=warning"])
        daemon.start()
        try:
            latencies = []
            await asyncio.gather(*(watch(daemon, index, latencies) for index in range(CLIENTS)))
            figures(f"waveform notification → WebSocket latency ({CLIENTS} client(s), {SECONDS:g} s)", latencies)
            after, artifact = await strip(daemon)
            pdf = next(part["size"] for part in artifact["parts"] if part["name"] == "strip.pdf")
            png = next(part["size"] for part in artifact["parts"] if part["name"] == "strip.png")
            print(f"ecg.strip 10 s: artifact event {after * 1000:.0f} ms after the 10 s of signal "
                  f"(the wait for the last chunk + render PDF/PNG + fsynced store); PDF {pdf} B, PNG {png} B, "
                  f"mean HR {artifact['metadata'].get('meanHeartRate')} /min")
        finally:
            daemon.stop()


asyncio.run(main())
