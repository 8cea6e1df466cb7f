"""ECG end to end against the real boothd on its simulator (sim:ecg, a Polar-H10-like strap at 72 /min).

Reuses the daemon and client helpers of 40-api-e2e.py (every server message is validated against
docs/api/server-messages.schema.json, every client message against client-messages.schema.json).

Usage: python 82-ecg-e2e.py BOOTHD_BINARY REPO_ROOT
"""

import asyncio
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = sys.argv[2]
_spec = importlib.util.spec_from_file_location("api_e2e", os.path.join(ROOT, "scripts/test.d/40-api-e2e.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)

KNOWN_HEART_RATE = 72.0  # Simulator.ecgHeartRate
DEVICE = "sim:ecg"
latencies_ms = []
live_after = {}  # deviceId → last seq published when we subscribed: later chunks are live (not replayed)
pending = {}  # id(ws) → waveform chunks received while waiting for a command's result


async def take(ws, timeout=5):
    """The next message, waveform chunks put aside by `command` first."""
    held = pending.get(id(ws))
    if held:
        return held.pop(0)
    return await next_message(ws, timeout)


async def next_message(ws, timeout=5):
    message = await api.recv(ws, timeout)
    if message["type"] == "waveform" and message["seq"] > live_after.get(message["deviceId"], 1 << 62):
        latencies_ms.append(time.time() * 1000 - message["receivedAtMicros"] / 1000)
    return message


async def waveforms(ws, count):
    """The next `count` waveform chunks (other messages are validated and skipped)."""
    chunks = []
    while len(chunks) < count:
        message = await take(ws)
        if message["type"] == "waveform":
            chunks.append(message)
    return chunks


async def command(ws, request_id, name, **params):
    if name == "waveform.subscribe":
        live_after.clear()  # chunks replayed before the result arrives are not live: not timed
    await api.send(ws, {"type": "command", "id": request_id, "command": name, "params": params})
    while True:
        message = await next_message(ws)
        if message["type"] == "waveform":
            pending.setdefault(id(ws), []).append(message)
        if message["type"] in ("result", "error") and message["id"] == request_id:
            if name == "waveform.subscribe" and message["type"] == "result":
                for device in message["data"]["devices"]:
                    live_after[device["deviceId"]] = device["lastSeq"]
            return message


def contiguous(chunks):
    return all(b["seq"] == a["seq"] + 1 for a, b in zip(chunks, chunks[1:]))


async def test_live_chunks_and_resume(daemon):
    ws, _ = await api.connect(daemon, "ecg-kiosk")
    devices = await command(ws, "d1", "devices.list")
    ecg = [d for d in devices["data"]["devices"] if d["id"] == DEVICE]
    assert ecg and ecg[0]["role"] == "ecg", devices
    reply = await command(ws, "w1", "waveform.subscribe", deviceId=DEVICE)
    assert reply["type"] == "result" and reply["data"]["subscribed"] is True, reply
    stream = reply["data"]["stream"]
    chunks = await waveforms(ws, 12)
    assert contiguous(chunks), [c["seq"] for c in chunks]
    assert chunks[0]["seq"] == reply["data"]["devices"][0]["from"], (chunks[0]["seq"], reply)
    assert all(c["stream"] == stream and c["deviceId"] == DEVICE and c["sampleRateHz"] == 130 for c in chunks)
    assert all(len(c["samples"]) == 33 and not c["gaps"] and not c["end"] for c in chunks)
    # Bounded rate: each chunk covers ≥ 250 ms of signal, and they do not arrive faster than that.
    assert all(len(c["samples"]) / c["sampleRateHz"] >= 0.25 for c in chunks)
    span = (chunks[-1]["receivedAtMicros"] - chunks[0]["receivedAtMicros"]) / 1e6
    assert span >= 0.2 * (len(chunks) - 1), span
    # Time is continuous from chunk to chunk (device time).
    for a, b in zip(chunks, chunks[1:]):
        assert abs(b["startMicros"] - (a["startMicros"] + len(a["samples"]) * 1e6 / 130)) <= 2, (a["startMicros"], b["startMicros"])
    last = chunks[-1]["seq"]
    await ws.close()
    # Away for ~1 s, then resume: the missed chunks come first, in order, none skipped.
    await asyncio.sleep(1.0)
    ws, _ = await api.connect(daemon, "ecg-kiosk")
    reply = await command(ws, "w2", "waveform.subscribe", deviceId=DEVICE, stream=stream, after=last)
    assert reply["data"]["resumed"] is True and reply["data"]["skipped"] == 0, reply
    resumed = await waveforms(ws, 8)
    assert resumed[0]["seq"] == last + 1 and contiguous(resumed), [c["seq"] for c in resumed]
    assert "skipped" not in resumed[0]
    # Another stream id (as after a boothd restart): live from now, not a replay.
    reply = await command(ws, "w3", "waveform.subscribe", deviceId=DEVICE, stream="other", after=1)
    assert reply["data"]["resumed"] is False, reply
    await ws.close()
    api.ok(f"waveforms: {len(chunks)} live chunks contiguous (33 samples, 130 Hz, ≥ 250 ms each), resumed after a "
           f"reconnect from seq {last + 1} with nothing skipped")


async def test_strip(daemon):
    ws, _ = await api.connect(daemon, "ecg-nurse")
    for params, code in (({"deviceId": DEVICE, "seconds": 2}, "invalid_params"),
                         ({"deviceId": "sim:oximeter"}, "unknown_device")):
        reply = await command(ws, f"bad-{code}", "ecg.strip", **params)
        assert reply["type"] == "error" and reply["code"] == code, reply
    await command(ws, "s0", "session.start", sessionId="S-ecg", contextRef="opaque")
    started = time.time()
    reply = await command(ws, "s1", "ecg.strip", deviceId=DEVICE, seconds=10)
    assert reply["type"] == "result" and reply["data"]["state"] == "recording", reply
    artifact_id = reply["data"]["artifactId"]
    busy = await command(ws, "s2", "ecg.strip", deviceId=DEVICE)
    assert busy["type"] == "error" and busy["code"] == "device_busy", busy
    heart_rates = []
    artifact = None
    deadline = time.time() + 40
    while artifact is None and time.time() < deadline:
        message = await take(ws, timeout=20)
        if message["type"] != "event":
            continue
        await ws.send(json.dumps({"type": "ack", "upTo": message["id"]}))
        if message["event"] == "measurement" and message["data"]["measurement"]["kind"] == "heartRate":
            heart_rates.append(message["data"]["measurement"])
        if message["event"] == "artifact" and message["data"]["artifact"]["id"] == artifact_id:
            artifact = message["data"]
    assert artifact is not None, "no artifact event for the strip"
    elapsed = time.time() - started
    info = artifact["artifact"]
    assert artifact["binding"] == "session" and artifact["sessionId"] == "S-ecg", artifact
    assert info["kind"] == "ecg-strip" and info["complete"] is True and info["deviceId"] == DEVICE, info
    metadata = info["metadata"]
    assert metadata["samples"] == "1300" and metadata["sampleRateHz"] == "130", metadata
    assert metadata["durationSeconds"] == "10.00" and metadata["gaps"] == "0", metadata
    mean = float(metadata["meanHeartRate"])
    assert abs(mean - KNOWN_HEART_RATE) < 1.0, mean
    assert int(metadata["rrIntervals"]) >= 9, metadata
    # Heart rate arrived as normal measurements meanwhile.
    assert heart_rates and all(m["values"][0]["code"]["value"] == 147842 for m in heart_rates), heart_rates[:1]
    assert any(m["values"][0]["number"] == {"mantissa": 72, "exponent": 0} for m in heart_rates)
    # The PDF, with the token; refused without it.
    parts = {part["name"]: part for part in info["parts"]}
    url = f"http://127.0.0.1:{daemon.port}{parts['strip.pdf']['url']}"
    try:
        urllib.request.urlopen(url, timeout=5)
        raise AssertionError("the strip was served without the token")
    except urllib.error.HTTPError as refused:
        assert refused.code == 401, refused.code
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {daemon.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        pdf = response.read()
        assert response.headers["Content-Type"].startswith("application/pdf"), response.headers["Content-Type"]
    assert len(pdf) == parts["strip.pdf"]["size"]
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        output = subprocess.run(["pdfinfo", file.name], capture_output=True, text=True, timeout=30).stdout
    assert re.search(r"^Pages:\s+1$", output, re.M), output
    assert re.search(r"^Page size:\s+841.89 x 595.276 pts \(A4\)", output, re.M), output
    png_url = f"http://127.0.0.1:{daemon.port}{parts['strip.png']['url']}?token={daemon.token}"
    with urllib.request.urlopen(png_url, timeout=10) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    await command(ws, "s3", "session.end", sessionId="S-ecg")
    await ws.close()
    api.ok(f"strip: ecg.strip 10 s → artifact event after {elapsed:.1f} s, bound to the session, 1300 samples, "
           f"mean HR {mean} /min (simulator {KNOWN_HEART_RATE:g}), PDF one A4-landscape page ({len(pdf)} bytes, "
           f"token required), PNG served; {len(heart_rates)} heart-rate measurements meanwhile")


async def main():
    with tempfile.TemporaryDirectory(prefix="boothd-ecg-") as state_dir:
        daemon = api.Daemon(state_dir, api.free_port(), extra=[
            "--set", "simulator.mode=on", "--set", "simulator.camera=false",
            "--set", "simulator.interval_seconds=5",
        ])
        daemon.start()
        try:
            await test_live_chunks_and_resume(daemon)
            await test_strip(daemon)
        finally:
            daemon.stop()
    ordered = sorted(latencies_ms)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"ecg e2e: all passed ({api.validated} server messages validated); notification → WebSocket latency over "
          f"{len(ordered)} chunks: median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms, max {ordered[-1]:.2f} ms")


asyncio.run(main())
