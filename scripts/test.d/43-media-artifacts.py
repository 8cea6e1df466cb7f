"""Snapshots, camera controls and stethoscope recordings end to end, on boothd's simulator (videotestsrc camera,
synthetic heart sound), with a real WebSocket client.

- snapshot.take in a session: the result, then the `artifact` event (every frame schema-validated), the JPEG over
  HTTP with the token (magic, dimensions from the SOF marker), 401 without it; latency figures printed.
- camera.control: a valid value, out of range (invalid_argument), an unsupported control (not_supported naming the
  supported ones), a snapshot asked of the stethoscope (not_supported), an unknown device.
- measurement.start on the stethoscope: FLAC (magic, STREAMINFO rate, duration) + phonocardiogram PNG, metadata.
- kill -9 right after each snapshot result (5 times): after restart, every acknowledged snapshot is replayed as an
  `artifact` event and its bytes are served.

Usage: python 43-media-artifacts.py BOOTHD_BINARY REPO_ROOT
"""

import asyncio
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("api_e2e", os.path.join(HERE, "40-api-e2e.py"))
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)  # reads BOOTHD and ROOT from sys.argv, like this script

SIMULATED = ["--set", "simulator.mode=on", "--set", "simulator.camera=true"]
CAMERA = "sim:camera"
STETHOSCOPE = "sim:stethoscope"


def http_get(daemon, path, token=None, query_token=None):
    url = f"http://127.0.0.1:{daemon.port}{path}"
    if query_token:
        url += f"?token={query_token}"
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read()


def jpeg_size(data):
    """(width, height) from the first SOF marker."""
    assert data[:3] == b"\xff\xd8\xff", "not a JPEG"
    index = 2
    while index < len(data):
        assert data[index] == 0xFF, f"bad JPEG marker at {index}"
        marker = data[index + 1]
        length = int.from_bytes(data[index + 2:index + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            height = int.from_bytes(data[index + 5:index + 7], "big")
            width = int.from_bytes(data[index + 7:index + 9], "big")
            return width, height
        index += 2 + length
    raise AssertionError("JPEG without SOF")


def flac_streaminfo(data):
    """(sample rate, channels, total frames) from the STREAMINFO block."""
    assert data[:4] == b"fLaC", "not a FLAC file"
    assert data[4] & 0x7F == 0, "first metadata block is not STREAMINFO"
    info = data[8:8 + 34]
    bits = int.from_bytes(info[10:18], "big")
    rate = bits >> 44
    channels = ((bits >> 41) & 0x7) + 1
    frames = bits & 0xFFFFFFFFF
    return rate, channels, frames


# `artifact` events read while waiting for a command's result (a snapshot's event precedes its result).
pending_artifacts = {}


async def command(ws, request_id, name, timeout=5, **params):
    """Like the e2e helper, but keeps the artifact events that arrive before the result."""
    await e2e.send(ws, {"type": "command", "id": request_id, "command": name, "params": params})
    while True:
        message = await e2e.recv(ws, timeout=timeout)
        if message["type"] == "event" and message["event"] == "artifact":
            pending_artifacts[message["data"]["artifact"]["id"]] = message
        if message["type"] in ("result", "error") and message["id"] == request_id:
            return message


async def wait_artifact(ws, artifact_id, timeout=30):
    """The `artifact` event of `artifact_id` (already read, or read now); acks what it reads."""
    if artifact_id in pending_artifacts:
        return pending_artifacts.pop(artifact_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await e2e.recv(ws, timeout=max(0.1, deadline - time.monotonic()))
        if message["type"] == "event":
            await e2e.send(ws, {"type": "ack", "upTo": message["id"]})
            if message["event"] == "artifact" and message["data"]["artifact"]["id"] == artifact_id:
                return message
    raise AssertionError(f"no artifact event for {artifact_id} within {timeout} s")


def check_part(daemon, artifact, name, media_type):
    part = next(p for p in artifact["parts"] if p["name"] == name)
    assert part["mediaType"] == media_type, part
    status, content_type, body = http_get(daemon, part["url"], token=daemon.token)
    assert status == 200 and content_type == media_type, (status, content_type)
    assert len(body) == part["size"], (len(body), part["size"])
    status, _, _ = http_get(daemon, part["url"])
    assert status == 401, f"artifact served without token: {status}"
    status, _, _ = http_get(daemon, part["url"], token="0" * 64)
    assert status == 401, f"artifact served with a wrong token: {status}"
    status, _, again = http_get(daemon, part["url"], query_token=daemon.token)
    assert status == 200 and again == body
    return body


async def test_snapshots(daemon):
    ws, welcome = await e2e.connect(daemon, "media-kiosk")
    assert welcome["capabilities"]["deviceCommands"] is True or welcome["capabilities"]["deviceCommands"] == "true"
    reply = await command(ws, "s0", "session.start", sessionId="S-media", contextRef="opaque-ref")
    assert reply["type"] == "result", reply
    latencies, captures = [], []
    for index in range(10):
        started = time.monotonic()
        reply = await command(ws, f"snap{index}", "snapshot.take", deviceId=CAMERA)
        round_trip = (time.monotonic() - started) * 1000
        assert reply["type"] == "result", reply
        data = reply["data"]
        assert data["binding"] == "session", data
        event = await wait_artifact(ws, data["artifactId"])
        artifact = event["data"]["artifact"]
        assert event["data"]["binding"] == "session" and event["data"]["sessionId"] == "S-media", event["data"]
        assert artifact["kind"] == "snapshot" and artifact["deviceId"] == CAMERA and artifact["complete"]
        metadata = artifact["metadata"]
        assert metadata["device"] == CAMERA and metadata["width"] == "640" and metadata["height"] == "360", metadata
        assert abs(artifact["takenAt"] / 1e6 - time.time()) < 30, artifact["takenAt"]
        body = check_part(daemon, artifact, "snapshot.jpg", "image/jpeg")
        assert jpeg_size(body) == (640, 360), jpeg_size(body)
        latencies.append(round_trip)
        captures.append(float(data["captureMs"]))
    e2e.ok(
        f"snapshot.take x10 in a session: artifact events, JPEG 640x360 over HTTP with the token, 401 without; "
        f"command→result median {statistics.median(latencies):.1f} ms (max {max(latencies):.1f}), "
        f"still capture median {statistics.median(captures):.1f} ms")
    await command(ws, "s1", "session.end", sessionId="S-media")
    await ws.close()


async def test_controls(daemon):
    ws, _ = await e2e.connect(daemon, "media-controls")
    reply = await command(ws, "c1", "camera.control", deviceId=CAMERA, control="brightness", value="40")
    assert reply["type"] == "result" and reply["data"]["value"] == "40", reply
    assert reply["data"]["minimum"] == "-100" and reply["data"]["maximum"] == "100", reply
    reply = await command(ws, "c2", "camera.control", deviceId=CAMERA, control="brightness", value="400")
    assert reply["type"] == "error" and reply["code"] == "invalid_argument", reply
    assert "-100" in reply["message"] and "100" in reply["message"], reply
    reply = await command(ws, "c3", "camera.control", deviceId=CAMERA, control="zoom", value="215")
    assert reply["type"] == "error" and reply["code"] == "invalid_argument" and "step 10" in reply["message"], reply
    reply = await command(ws, "c4", "camera.control", deviceId=CAMERA, control="zoom", value=250)
    assert reply["type"] == "result" and reply["data"]["value"] == "250", reply
    reply = await command(ws, "c5", "camera.control", deviceId=CAMERA, control="led", value="1")
    assert reply["type"] == "error" and reply["code"] == "not_supported", reply
    assert "brightness" in reply["message"] and "zoom" in reply["message"], reply
    reply = await command(ws, "c6", "snapshot.take", deviceId=STETHOSCOPE)
    assert reply["type"] == "error" and reply["code"] == "not_supported", reply
    reply = await command(ws, "c7", "snapshot.take", deviceId="sim:nothing")
    assert reply["type"] == "error" and reply["code"] == "unknown_device", reply
    reply = await command(ws, "c8", "measurement.start", deviceId=STETHOSCOPE, seconds="9999")
    assert reply["type"] == "error" and reply["code"] == "invalid_argument", reply
    # Not a valid client message (the schema lists the modes): sent raw, the server must still refuse it clearly.
    await ws.send(json.dumps({"type": "command", "id": "c9", "command": "measurement.start",
                              "params": {"deviceId": STETHOSCOPE, "mode": "loud"}}))
    reply = await e2e.recv(ws)
    while reply.get("id") != "c9":
        reply = await e2e.recv(ws)
    assert reply["type"] == "error" and reply["code"] == "invalid_argument" and "diaphragm" in reply["message"]
    await ws.close()
    e2e.ok("camera.control validated against the control ranges; unsupported control → not_supported naming the "
           "supported ones; wrong device kind → not_supported; unknown device; bad recording params")


async def test_recording(daemon):
    ws, _ = await e2e.connect(daemon, "media-nurse")
    reply = await command(ws, "r0", "session.start", sessionId="S-steth", contextRef="opaque-ref-2")
    assert reply["type"] == "result", reply
    started = time.monotonic()
    reply = await command(ws, "r1", "measurement.start", deviceId=STETHOSCOPE, seconds=6, mode="bell")
    assert reply["type"] == "result", reply
    assert reply["data"]["state"] == "recording" and reply["data"]["sampleRate"] == "48000", reply
    busy = await command(ws, "r2", "measurement.start", deviceId=STETHOSCOPE)
    assert busy["type"] == "error" and busy["code"] == "device_busy", busy
    event = await wait_artifact(ws, reply["data"]["artifactId"], timeout=40)
    elapsed = time.monotonic() - started
    artifact = event["data"]["artifact"]
    assert event["data"]["sessionId"] == "S-steth", event["data"]
    assert artifact["kind"] == "recording" and artifact["complete"], artifact
    metadata = artifact["metadata"]
    assert metadata["mode"] == "bell" and metadata["sampleRate"] == "48000", metadata
    assert metadata["durationSeconds"] == "6.000" and metadata["device"] == STETHOSCOPE, metadata
    flac = check_part(daemon, artifact, "recording.flac", "audio/flac")
    rate, channels, frames = flac_streaminfo(flac)
    assert (rate, channels, frames) == (48000, 1, 6 * 48000), (rate, channels, frames)
    png = check_part(daemon, artifact, "phonocardiogram.png", "image/png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    heart = metadata.get("heartRateBpm")
    assert heart is not None and abs(float(heart) - 72) < 4, f"heart rate {heart} (synthetic 72 bpm)"
    await command(ws, "r3", "session.end", sessionId="S-steth")
    await ws.close()
    e2e.ok(f"recording 6 s bell: FLAC 48000 Hz mono {frames} frames + PNG over HTTP, heart rate {heart} bpm "
           f"(synthetic 72), event {elapsed:.1f} s after the command")


async def next_level(ws, timeout, where=lambda m: True):
    """The next stethoscope.level message satisfying `where` (other messages are skipped), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = await e2e.recv(ws, timeout=max(0.05, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return None
        if message["type"] == "stethoscope.level" and where(message):
            return message
    return None


async def test_levels(daemon):
    ws, _ = await e2e.connect(daemon, "media-levels")
    reply = await command(ws, "l0", "stethoscope.level", deviceId=STETHOSCOPE, on=True)
    assert reply["type"] == "result" and reply["data"]["subscribed"] is True, reply
    assert reply["data"]["mode"] == "bell", reply
    started = time.monotonic()
    levels = []
    while len(levels) < 10 and time.monotonic() - started < 5:
        message = await next_level(ws, timeout=5 - (time.monotonic() - started))
        if message is None:
            break
        levels.append(message)
    elapsed = time.monotonic() - started
    assert len(levels) >= 5, f"only {len(levels)} level messages in {elapsed:.1f} s"
    assert {m["stage"] for m in levels} == {"input", "filtered"}, levels
    assert all(m["deviceId"] == STETHOSCOPE and m["source"] == "monitor" for m in levels), levels
    inputs = [m for m in levels if m["stage"] == "input"]
    # The synthetic heart sound: bursts up to 0.3 full scale over faint noise, never silent, never clipping.
    assert all(-60 < m["rmsDb"][0] < -5 and m["peakDb"][0] < -3 for m in inputs), inputs
    assert all(m["condition"] == "ok" for m in levels), levels
    reply = await command(ws, "l1", "stethoscope.mode", deviceId=STETHOSCOPE, mode="diaphragm")
    assert reply["type"] == "result" and reply["data"]["mode"] == "diaphragm", reply
    assert isinstance(reply["data"]["live"], bool), reply
    switched = await next_level(ws, timeout=3, where=lambda m: m["mode"] == "diaphragm")
    assert switched is not None, "no level reading in diaphragm mode within 3 s"
    # Not valid client messages (the schema lists the modes): sent raw, refused with a typed error.
    await ws.send(json.dumps({"type": "command", "id": "l2", "command": "stethoscope.mode",
                              "params": {"deviceId": STETHOSCOPE, "mode": "loud"}}))
    bad = await command_reply(ws, "l2")
    assert bad["type"] == "error" and bad["code"] == "invalid_argument" and "diaphragm" in bad["message"], bad
    reply = await command(ws, "l3", "stethoscope.mode", deviceId="sim:nothing", mode="bell")
    assert reply["type"] == "error" and reply["code"] == "unknown_device", reply
    reply = await command(ws, "l4", "stethoscope.level", deviceId="sim:nothing", on=True)
    assert reply["type"] == "error" and reply["code"] == "unknown_device", reply
    reply = await command(ws, "l5", "devices.list")
    steth = [d for d in reply["data"]["devices"] if d["id"] == STETHOSCOPE]
    assert steth and not steth[0].get("warning"), steth
    reply = await command(ws, "l6", "stethoscope.mode", deviceId=STETHOSCOPE, mode="bell")
    assert reply["type"] == "result" and reply["data"]["mode"] == "bell", reply
    # Live WebRTC audio (the simulator's 100 Hz tone at 0.5 full scale): the meter reads its pipeline, and the mode
    # reaches it. No answer is needed: the audio starts with the offer.
    await e2e.send(ws, {"type": "webrtc.start", "id": "w1", "video": False, "audio": True})
    live = await next_level(ws, timeout=5, where=lambda m: m["source"] == "live" and m["stage"] == "input")
    assert live is not None, "no level reading from the live audio pipeline within 5 s"
    live = await next_level(ws, timeout=2, where=lambda m: m["source"] == "live" and m["stage"] == "input")
    assert live is not None and abs(live["rmsDb"][0] - -9.03) < 0.5, live
    reply = await command(ws, "l6b", "stethoscope.mode", deviceId=STETHOSCOPE, mode="wide")
    assert reply["type"] == "result" and reply["data"]["live"] is True, reply
    switched = await next_level(ws, timeout=3, where=lambda m: m["source"] == "live" and m["mode"] == "wide")
    assert switched is not None, "the live pipeline did not switch to wide"
    await e2e.send(ws, {"type": "webrtc.stop"})
    back = await next_level(ws, timeout=5, where=lambda m: m["source"] == "monitor")
    assert back is not None, "the meter did not go back to its own capture after the live audio stopped"
    reply = await command(ws, "l6c", "stethoscope.mode", deviceId=STETHOSCOPE, mode="bell")
    assert reply["type"] == "result" and reply["data"]["live"] is False, reply
    reply = await command(ws, "l7", "stethoscope.level", deviceId=STETHOSCOPE, on=False)
    assert reply["type"] == "result" and reply["data"]["subscribed"] is False, reply
    # Readings already queued may still arrive; then nothing.
    await asyncio.sleep(0.5)
    while await next_level(ws, timeout=0.2) is not None:
        pass
    late = await next_level(ws, timeout=1.0)
    assert late is None, f"level message after unsubscribing: {late}"
    await ws.close()
    e2e.ok(f"stethoscope.level: {len(levels)} schema-valid level messages in {elapsed:.1f} s (input RMS "
           f"{min(m['rmsDb'][0] for m in inputs):.1f}..{max(m['rmsDb'][0] for m in inputs):.1f} dBFS), "
           f"stethoscope.mode diaphragm applied, typed errors; live WebRTC audio read at {live['rmsDb'][0]:.2f} dBFS "
           "RMS (tone at -9.03), mode wide applied live; unsubscribed")


async def command_reply(ws, request_id, timeout=5):
    while True:
        message = await e2e.recv(ws, timeout=timeout)
        if message["type"] in ("result", "error") and message.get("id") == request_id:
            return message


async def test_kill_after_snapshot(state_dir, cycles=5):
    daemon = e2e.Daemon(state_dir, e2e.free_port(), extra=SIMULATED)
    confirmed = []
    for cycle in range(cycles):
        daemon.start()
        ws, _ = await e2e.connect(daemon, "media-killer")
        reply = await command(ws, f"k{cycle}", "snapshot.take", deviceId=CAMERA)
        assert reply["type"] == "result", reply
        confirmed.append(reply["data"]["artifactId"])
        daemon.kill9()  # right after the result: the artifact must already be durable
    daemon.start()
    try:
        ws, _ = await e2e.connect(daemon, "media-reader")
        seen = {}
        deadline = time.monotonic() + 20
        while len(seen) < len(confirmed) and time.monotonic() < deadline:
            message = await e2e.recv(ws, timeout=max(0.1, deadline - time.monotonic()))
            if message["type"] == "event" and message["event"] == "artifact":
                seen[message["data"]["artifact"]["id"]] = message["data"]["artifact"]
        missing = [a for a in confirmed if a not in seen]
        assert not missing, f"snapshots lost after kill -9: {missing}"
        for artifact_id in confirmed:
            body = check_part(daemon, seen[artifact_id], "snapshot.jpg", "image/jpeg")
            assert jpeg_size(body) == (640, 360)
        await ws.close()
    finally:
        daemon.stop()
    e2e.ok(f"kill -9 right after snapshot.take x{cycles}: all {len(confirmed)} snapshots replayed and served")


async def main():
    with tempfile.TemporaryDirectory(prefix="boothd-media-") as state_dir:
        daemon = e2e.Daemon(state_dir, e2e.free_port(), extra=SIMULATED)
        daemon.start()
        try:
            await test_snapshots(daemon)
            await test_controls(daemon)
            await test_levels(daemon)
            await test_recording(daemon)
        finally:
            daemon.stop()
    with tempfile.TemporaryDirectory(prefix="boothd-media-kill-") as state_dir:
        await test_kill_after_snapshot(state_dir)
    print(f"media artifacts e2e: all passed ({e2e.validated} server messages validated against the JSON Schema)")


if __name__ == "__main__":
    asyncio.run(main())
