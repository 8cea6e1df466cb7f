"""boothd process figures: start-to-READY (warm, via a NOTIFY_SOCKET listener exactly as systemd sees it),
RSS idle on the simulator (with and without the simulated camera, before and after a preview, 3 minutes on, and
with MALLOC_ARENA_MAX=2), with where it goes by kind of mapping and which on-demand libraries are mapped; RSS under load
(10 subscribed WebSocket clients, 4 producers recording as fast as boothd accepts, simulator running).
The camera runs on demand (media.camera_idle_seconds): idle RSS is also measured after a use of the camera (a
snapshot and a few seconds of preview) and with the camera always running (media.camera_idle_seconds=0), and
snapshot.take latency is measured cold (camera stopped) and warm (camera running).

RSS counts file-backed pages of the executable and shared libraries (clean, shared, reclaimable); the private
figure (USS: Private_Clean + Private_Dirty) and anonymous memory are printed beside it.

Usage: python daemon_bench.py BOOTHD [--fast]
"""

import asyncio
import json
import os
import re
import statistics
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
from boothd_harness import Boothd, Client, emit  # noqa: E402

import websockets  # noqa: E402

BOOTHD = sys.argv[1]
FAST = "--fast" in sys.argv
STARTS = 5 if FAST else 15
SETTLE = 10 if FAST else 30  # boothd releases its startup pages 5 s after READY
LATER = 0 if FAST else 150  # the outbox and usage databases' caches fill while the simulator records
LOAD_SECONDS = 5 if FAST else 20
COLD_SNAPSHOTS = 3 if FAST else 8
figures = {}


def memory(daemon):
    rollup = daemon.smaps_rollup()
    return {
        "rss_mib": round(rollup.get("Rss", 0) / 1024, 1),
        "pss_mib": round(rollup.get("Pss", 0) / 1024, 1),
        "uss_mib": round((rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)) / 1024, 1),
        "anon_mib": round(rollup.get("Anonymous", 0) / 1024, 1),
        "threads": daemon.threads(),
        "fds": daemon.fds(),
    }


def startup():
    times = []
    # One cold-ish start first (page cache, GStreamer registry), not counted: the target is a warm start.
    for index in range(STARTS + 1):
        daemon = Boothd(BOOTHD, settings={"simulator.mode": "on", "logging.level": "warning"}).start()
        if index > 0:
            times.append(daemon.startup_ms)
        daemon.cleanup()
    times.sort()
    figures["ready_ms_median"] = round(statistics.median(times), 1)
    figures["ready_ms_max"] = round(times[-1], 1)
    print(f"start-to-READY (warm, simulator with camera, {STARTS} starts): median {figures['ready_ms_median']} ms, "
          f"max {figures['ready_ms_max']} ms (target < 500 ms)")


def use_camera(daemon):
    """One use of the simulated camera: a snapshot, then 3 s of MJPEG preview."""
    async def snapshot():
        client = await Client.connect(daemon, "bench-camera")
        reply = await client.command("snapshot.take", timeout=15, deviceId="sim:camera")
        await client.close()
        if reply["type"] != "result":
            raise RuntimeError(f"snapshot.take failed: {reply}")
    asyncio.run(snapshot())
    url = f"http://127.0.0.1:{daemon.port}/camera/preview.mjpg?token={daemon.token}"
    with urllib.request.urlopen(url, timeout=5) as response:
        end = time.monotonic() + 3
        while time.monotonic() < end:
            response.read(4096)


# Libraries an idle boothd must not map: they come with a pipeline (plugins, codecs) or with WebRTC and pictures,
# and are loaded at their first use (libjpeg is not among them: libv4l2 links it).
ON_DEMAND_LIBRARIES = re.compile(r"^lib(gst(?!reamer-1\.0|base|video|app)|x264|nice|gnutls|soup|krb5|cairo|"
                                 r"pixman|X11|xcb)")


def idle(label, settings, env=None, use=False, later=0):
    """Idle figures `SETTLE` s after READY (or after a camera use), and again `later` s after that."""
    daemon = Boothd(BOOTHD, settings=dict({"simulator.mode": "on", "logging.level": "warning"}, **settings),
                    env=env).start()
    try:
        if use:
            time.sleep(2)
            use_camera(daemon)
        time.sleep(SETTLE)
        report(daemon, label, f"{SETTLE} s after a snapshot and 3 s of preview" if use else f"{SETTLE} s after READY")
        if later:
            time.sleep(later)
            report(daemon, f"{label}_later", f"{SETTLE + later} s after READY")
    finally:
        daemon.cleanup()


def report(daemon, label, after):
    figure = memory(daemon)
    for key in ("rss_mib", "pss_mib", "uss_mib", "anon_mib", "threads"):
        figures[f"idle_{label}_{key}"] = figure[key]
    print(f"idle RSS, {label} ({after}): RSS {figure['rss_mib']} MiB, PSS {figure['pss_mib']} MiB, "
          f"private {figure['uss_mib']} MiB, anonymous {figure['anon_mib']} MiB, {figure['threads']} threads, "
          f"{figure['fds']} fds (target RSS < 40 MB = 38.1 MiB)")
    groups = ", ".join(f"{name} {kib['Rss'] / 1024:.1f}" + (f" (anon {kib['Anonymous'] / 1024:.1f})"
                                                            if kib["Anonymous"] >= 512 else "")
                       for name, kib in daemon.rss_by_group() if kib["Rss"] >= 100)
    print(f"    by kind (MiB RSS): {groups}")
    top = ", ".join(f"{name} {kib // 1024}.{(kib % 1024) * 10 // 1024}" for name, kib in daemon.rss_by_mapping(6))
    print(f"    biggest mappings (MiB RSS): {top}")
    on_demand = [name for name in daemon.mapped_libraries() if ON_DEMAND_LIBRARIES.match(name)]
    figures[f"idle_{label}_on_demand_libraries"] = len(on_demand)
    print(f"    libraries {len(daemon.mapped_libraries())}; plugins, codecs, WebRTC and cairo libraries mapped: "
          f"{len(on_demand)}{' (' + ' '.join(on_demand[:12]) + (' ...' if len(on_demand) > 12 else '') + ')' if on_demand else ''}")


async def load_phase(daemon):
    token = daemon.token

    async def client(client_id):
        ws = await websockets.connect(daemon.ws_url, max_size=2**24)
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": token, "clientId": client_id}))
        while json.loads(await ws.recv())["type"] != "devices":
            pass
        return ws

    subscribers = [await client(f"load-sub-{index}") for index in range(10)]
    producers = [await client(f"load-pub-{index}") for index in range(4)]
    stop = time.monotonic() + LOAD_SECONDS
    recorded = [0]
    peak = [0.0]

    async def read(ws):
        try:
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "event" and message["id"] % 50 == 0:
                    await ws.send(json.dumps({"type": "ack", "upTo": message["id"]}))
        except websockets.ConnectionClosed:
            pass

    async def produce(index, ws):
        number = 0
        while time.monotonic() < stop:
            batch = 16
            for _ in range(batch):
                await ws.send(json.dumps({"type": "command", "id": f"p{index}-{number}", "command": "test.record",
                                          "params": {"measurementId": f"load-{index}-{number}"}}))
                number += 1
            replies = 0
            while replies < batch:
                message = json.loads(await ws.recv())
                if message["type"] in ("result", "error"):
                    replies += 1
            recorded[0] += batch

    async def sample():
        while time.monotonic() < stop:
            peak[0] = max(peak[0], daemon.rss_mib())
            await asyncio.sleep(0.2)

    readers = [asyncio.create_task(read(ws)) for ws in subscribers]
    await asyncio.gather(sample(), *(produce(index, ws) for index, ws in enumerate(producers)))
    await asyncio.sleep(1)
    for ws in subscribers + producers:
        await ws.close()
    for task in readers:
        task.cancel()
    return recorded[0], peak[0]


def snapshots():
    """snapshot.take round trip and capture time (boothd's captureMs): cold, with the on-demand camera stopped
    (idle delay 1 s, 3 s of nothing before each), and warm, right after, while it still runs."""
    daemon = Boothd(BOOTHD, settings={"simulator.mode": "on", "logging.level": "warning",
                                      "media.camera_idle_seconds": "1"}).start()

    async def run():
        client = await Client.connect(daemon, "bench-snapshots")
        cold, warm = [], []
        for _ in range(COLD_SNAPSHOTS):
            await asyncio.sleep(3)
            for series in (cold, warm, warm):
                started = time.monotonic()
                reply = await client.command("snapshot.take", timeout=15, deviceId="sim:camera")
                if reply["type"] != "result":
                    raise RuntimeError(f"snapshot.take failed: {reply}")
                series.append(((time.monotonic() - started) * 1000, float(reply["data"]["captureMs"])))
        await client.close()
        return cold, warm

    try:
        cold, warm = asyncio.run(run())
    finally:
        daemon.cleanup()
    for label, series in (("cold", cold), ("warm", warm)):
        trips = sorted(trip for trip, _ in series)
        captures = sorted(capture for _, capture in series)
        figures[f"snapshot_{label}_ms_median"] = round(statistics.median(trips), 1)
        figures[f"snapshot_{label}_ms_max"] = round(trips[-1], 1)
        figures[f"snapshot_{label}_capture_ms_median"] = round(statistics.median(captures), 1)
        print(f"snapshot.take {label} ({len(series)}, 640x360 simulated camera): command→result median "
              f"{statistics.median(trips):.1f} ms, max {trips[-1]:.1f} ms; capture median "
              f"{statistics.median(captures):.1f} ms")


def under_load():
    daemon = Boothd(BOOTHD, settings={"simulator.mode": "on", "logging.level": "warning", "api.test_commands": "true",
                                      "api.commands_per_second": "10000", "api.max_clients": "32"}).start()
    try:
        time.sleep(2)
        before = daemon.rss_mib()
        recorded, peak = asyncio.run(load_phase(daemon))
        time.sleep(3)
        after = memory(daemon)
        figures["load_rss_peak_mib"] = round(peak, 1)
        figures["load_rss_after_mib"] = after["rss_mib"]
        figures["load_measurements_per_s"] = round(recorded / LOAD_SECONDS)
        print(f"RSS under load (simulator + camera, 10 clients, {recorded} measurements in {LOAD_SECONDS} s = "
              f"{recorded / LOAD_SECONDS:.0f}/s): before {before:.1f} MiB, peak {peak:.1f} MiB, "
              f"3 s after {after['rss_mib']} MiB (anonymous {after['anon_mib']} MiB)")
    finally:
        daemon.cleanup()


startup()
idle("nocamera", {"simulator.camera": "false"})
idle("camera", {"simulator.camera": "true"}, later=LATER)
idle("camera_used", {"simulator.camera": "true"}, use=True)
idle("camera_always", {"simulator.camera": "true", "media.camera_idle_seconds": "0"})
idle("camera_arena2", {"simulator.camera": "true"}, env={"MALLOC_ARENA_MAX": "2"})
snapshots()
under_load()
emit(figures)
