"""boothd's live WebRTC stream in headless Chromium, driven over the DevTools protocol.

1. Signaling over the session WebSocket with a Python client: every webrtc.* frame is validated against
   docs/api/*.schema.json, bad requests get typed webrtc.error frames, start/stop can be repeated.
2. The sample kiosk page (web/live.js) receives video + audio from boothd on its simulator:
   - getStats: frameWidth/frameHeight = the camera's 640x360, framesDecoded and framesPerSecond increasing;
   - WebAudio on the received track: the simulated stethoscope's 100 Hz tone (amplitude 0.5 at the source)
     arrives at > -3 dB;
   - audio + video on the wire stay under media.budget_kbps.

Usage: python 44-webrtc-chromium.py BOOTHD REPO_ROOT CHROMIUM [--seconds N] [--json]
Prints the measured figures (also used by scripts/bench/webrtc/run.sh).
"""

import asyncio
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import jsonschema
import websockets

BOOTHD, ROOT, CHROMIUM = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from boothd_harness import Boothd  # noqa: E402
SECONDS = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 8.0
PATTERN = sys.argv[sys.argv.index("--pattern") + 1] if "--pattern" in sys.argv else "ball"
AUDIO = "--no-audio" not in sys.argv
AS_JSON = "--json" in sys.argv
# --loss F: boothd drops that fraction of video RTP packets before webrtcbin (BOOTH_TEST_VIDEO_LOSS); Chromium's
# receiver reports show the loss and boothd's BandwidthMonitor must lower the live budget (49-webrtc-loss.sh).
LOSS = float(sys.argv[sys.argv.index("--loss") + 1]) if "--loss" in sys.argv else 0.0
if LOSS > 0:
    os.environ["BOOTH_TEST_VIDEO_LOSS"] = str(LOSS)
BUDGET_KBPS = 1000
SOURCE_AMPLITUDE = 0.5  # Daemon+LiveMedia.swift: audiotestsrc volume 0.5, 100 Hz

SERVER = jsonschema.Draft202012Validator(json.load(open(os.path.join(ROOT, "docs/api/server-messages.schema.json"))))
CLIENT = jsonschema.Draft202012Validator(json.load(open(os.path.join(ROOT, "docs/api/client-messages.schema.json"))))


def log(text):
    if not AS_JSON:
        print(text, flush=True)


def start_boothd(state):
    """The real boothd on its simulator (camera and stethoscope tone), serving the kiosk page to its own origin."""
    boothd = Boothd(BOOTHD, state_dir=state, settings={
        "api.web_directory": f"{ROOT}/web", "simulator.mode": "on", "simulator.interval_seconds": "1",
        "media.budget_kbps": str(BUDGET_KBPS), "simulator.camera_pattern": PATTERN,
        "profiles.directories": f"{ROOT}/firmware-profiles",
    })
    boothd.settings["api.allowed_origins"] = f"http://127.0.0.1:{boothd.port}"
    try:
        return boothd.start(timeout=20)
    except RuntimeError as error:
        raise SystemExit(f"boothd did not start: {error}")


def stop_boothd(boothd):
    if boothd.stop(timeout=10) == -9:  # the harness kills what SIGTERM did not stop
        raise SystemExit("boothd did not stop within 10 s of SIGTERM")


async def signaling(boothd):
    """The protocol with a plain client: schema-valid frames, typed errors, repeated start/stop."""
    async with websockets.connect(f"ws://127.0.0.1:{boothd.port}/ws") as ws:
        async def send(message):
            errors = list(CLIENT.iter_errors(message))
            assert not errors, f"client frame {message} invalid: {errors[0].message}"
            await ws.send(json.dumps(message))

        backlog = []

        async def receive(kind, seconds=10):
            """The next frame of this type; frames of other types are kept for later (their order varies)."""
            for message in backlog:
                if message["type"] == kind:
                    backlog.remove(message)
                    return message
            deadline = time.time() + seconds
            while time.time() < deadline:
                message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.time()))
                errors = list(SERVER.iter_errors(message))
                assert not errors, f"server frame {str(message)[:300]} invalid: {errors[0].message}"
                if message["type"] == kind:
                    return message
                backlog.append(message)
            raise AssertionError(f"no {kind} within {seconds} s")

        def forget():
            backlog.clear()

        await send({"type": "hello", "protocol": 1, "token": boothd.token, "clientId": "webrtc-signaling"})
        await receive("welcome")
        await send({"type": "webrtc.answer", "sdp": "v=0\r\n"})
        error = await receive("webrtc.error")
        assert error["code"] == "webrtc_wrong_state", error
        await ws.send(json.dumps({"type": "webrtc.start", "id": "s0", "video": "yes"}))  # invalid on purpose
        error = await receive("webrtc.error")
        assert error["code"] == "webrtc_invalid_configuration" and error["id"] == "s0", error
        for round in range(4):
            await send({"type": "webrtc.start", "id": f"r{round}", "audio": round % 2 == 0})
            offer = await receive("webrtc.offer")
            assert offer["id"] == f"r{round}" and "m=video" in offer["sdp"], offer
            assert ("m=audio" in offer["sdp"]) == (round % 2 == 0), offer["sdp"]
            candidate = await receive("webrtc.ice")
            assert " 127.0.0.1 " in candidate["candidate"], candidate
            video = await receive("webrtc.video")
            assert video["state"] == "active", video
            if round == 0:
                await send({"type": "webrtc.ice", "peerId": offer["peerId"], "candidate": "nonsense",
                            "sdpMLineIndex": 0})
                error = await receive("webrtc.error")
                assert error["code"] == "webrtc_invalid_candidate", error
                await send({"type": "webrtc.answer", "peerId": offer["peerId"], "sdp": "not sdp"})
                error = await receive("webrtc.error")
                assert error["code"] == "webrtc_invalid_answer", error
                # A poor link: video is suspended in favour of snapshots, then resumes.
                await send({"type": "webrtc.bandwidth", "kbps": 200})
                suspended = await receive("webrtc.video")
                assert suspended["state"] == "suspended" and suspended["floorKbps"] == 150, suspended
                await send({"type": "webrtc.bandwidth", "kbps": None})
                assert (await receive("webrtc.video"))["state"] == "active"
            await send({"type": "webrtc.stop"})
            stopped = await receive("webrtc.stopped")
            assert stopped["peerId"] == offer["peerId"], stopped
            forget()  # the stopped peer's remaining candidates and states
    # A client that goes away without webrtc.stop: its peer is torn down by boothd.
    async with websockets.connect(f"ws://127.0.0.1:{boothd.port}/ws") as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": boothd.token, "clientId": "webrtc-gone"}))
        await ws.send(json.dumps({"type": "webrtc.start", "id": "gone"}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "webrtc.offer":
                gone = message["peerId"]
                break
    deadline = time.time() + 10
    pattern = re.compile(rf"\bpeer={gone}\b.*webrtc peer stopped|webrtc peer stopped.*\bpeer={gone}\b")
    while not any(pattern.search(line) for line in open(boothd.log_path, errors="replace")):
        if time.time() > deadline:
            raise AssertionError(f"peer {gone} of a disconnected client was not stopped")
        await asyncio.sleep(0.1)
    log("signaling: schema-valid offer/ice/video/stopped frames, typed errors, 4 start/stop rounds, "
        "video suspended at 200 kbit/s and resumed, peer of a disconnected client stopped")


class DevTools:
    """Chromium's DevTools protocol on the page target (Runtime.evaluate)."""

    def __init__(self, url, profile):
        self.process = subprocess.Popen([
            CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
            "--remote-debugging-port=0", "--remote-allow-origins=*",
            # Loopback candidates (boothd gathers on 127.0.0.1 only) and real addresses instead of mDNS names.
            "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--autoplay-policy=no-user-gesture-required", url,
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline:
                self.stop()
                raise SystemExit("Chromium did not open its DevTools port")
            time.sleep(0.1)
        self.port = int(open(port_file).read().split()[0])
        self.counter = 0

    async def connect(self):
        deadline = time.time() + 20
        while True:
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=5))
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                break
            if time.time() > deadline:
                raise SystemExit("no page target in Chromium")
            await asyncio.sleep(0.2)
        self.ws = await websockets.connect(pages[0]["webSocketDebuggerUrl"], max_size=2**24)

    async def evaluate(self, expression):
        self.counter += 1
        await self.ws.send(json.dumps({"id": self.counter, "method": "Runtime.evaluate", "params": {
            "expression": expression, "awaitPromise": True, "returnByValue": True}}))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if reply.get("id") == self.counter:
                result = reply["result"]
                if "exceptionDetails" in result:
                    raise AssertionError(f"page error: {result['exceptionDetails']}")
                return result["result"].get("value")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def rate(first, last, fields):
    seconds = (last["timestamp"] - first["timestamp"]) / 1000
    return sum(last.get(f, 0) - first.get(f, 0) for f in fields) * 8 / 1000 / seconds


async def receive_in_chromium(boothd, state):
    url = f"http://127.0.0.1:{boothd.port}/#token={boothd.token}&live=1" + ("" if AUDIO else "&audio=0")
    chromium = DevTools(url, os.path.join(state, "chromium-profile"))
    try:
        await chromium.connect()
        deadline = time.time() + 30
        report = None
        opened = time.time()
        while time.time() < deadline:
            report = await chromium.evaluate("window.boothLive && window.boothLive.report()")
            if report and report["video"] and report["video"].get("framesDecoded", 0) > 0:
                break
            await asyncio.sleep(0.25)
        else:
            status = await chromium.evaluate("document.getElementById('live-status').textContent")
            raise AssertionError(f"no decoded video within 30 s (page: {status}; last report {report})")
        first_frame_seconds = time.time() - opened
        # Let the encoder settle (first keyframe, rate control), then measure over SECONDS.
        await asyncio.sleep(2)
        first = await chromium.evaluate("window.boothLive.report()")
        cpu_first = (time.monotonic(), boothd.cpu_seconds())
        samples = []
        tone = []
        end = time.time() + SECONDS
        while time.time() < end:
            await asyncio.sleep(0.5)
            samples.append(await chromium.evaluate("window.boothLive.report()"))
            tone.append(await chromium.evaluate("window.boothLive.toneAmplitude(100)"))
        last = samples[-1]
        cpu_last = (time.monotonic(), boothd.cpu_seconds())
        video, audio = last["video"], last["audio"]
        decoded = [s["video"]["framesDecoded"] for s in samples]
        fps = [s["video"].get("framesPerSecond", 0) for s in samples]
        amplitudes = [t["amplitude"] for t in tone[2:] if t and t["amplitude"] is not None]
        level_db = 20 * math.log10(max(1e-9, sorted(amplitudes)[len(amplitudes) // 2])) - 20 * math.log10(
            SOURCE_AMPLITUDE) if amplitudes else None
        video_kbps = rate(first["video"], video, ["bytesReceived", "headerBytesReceived"])
        audio_kbps = rate(first["audio"], audio, ["bytesReceived", "headerBytesReceived"]) if audio else 0.0
        def packet_rate(kind):
            if not last[kind]:
                return 0.0
            seconds = (last[kind]["timestamp"] - first[kind]["timestamp"]) / 1000
            return (last[kind]["packetsReceived"] - first[kind]["packetsReceived"]) / seconds

        packets = packet_rate("video") + packet_rate("audio")
        # RTP payload+headers, plus per packet: IPv4 20 + UDP 8 + SRTP auth tag 10 bytes (packets/s × 38 × 8 bits).
        wire_kbps = video_kbps + audio_kbps + packets * 38 * 8 / 1000
        transport_kbps = None
        if first.get("transport") and last.get("transport"):
            transport_kbps = rate(first["transport"], last["transport"], ["bytesReceived"])
        figures = {
            "frameWidth": video.get("frameWidth"), "frameHeight": video.get("frameHeight"),
            "framesPerSecond": fps[-1], "framesDecoded": decoded[-1],
            "videoKbps": round(video_kbps, 1), "audioKbps": round(audio_kbps, 1),
            "wireKbps": round(wire_kbps, 1), "packetsPerSecond": round(packets, 1), "transportKbps": round(transport_kbps, 1) if transport_kbps else None,
            "budgetKbps": BUDGET_KBPS, "tone100HzDb": round(level_db, 2) if level_db is not None else None,
            "audioLevel": audio.get("audioLevel") if audio else None,
            "decodedFps": round((video["framesDecoded"] - first["video"]["framesDecoded"]) / (
                (video["timestamp"] - first["video"]["timestamp"]) / 1000), 1),
            "audioJitterBufferMs": round(1000 * (audio["jitterBufferDelay"] - first["audio"]["jitterBufferDelay"]) / (
                audio["jitterBufferEmittedCount"] - first["audio"]["jitterBufferEmittedCount"]), 1)
            if audio and audio.get("jitterBufferEmittedCount", 0) > first["audio"].get("jitterBufferEmittedCount", 0)
            else None,
            "audioConcealedPercent": round(100 * (audio.get("concealedSamples", 0) - first["audio"].get(
                "concealedSamples", 0)) / max(1, audio.get("totalSamplesReceived", 0) - first["audio"].get(
                "totalSamplesReceived", 0)), 2) if audio else None,
            "pattern": PATTERN, "secondsToFirstFrame": None, "audioTrack": AUDIO,
            "boothdCpuPercent": round(100 * (cpu_last[1] - cpu_first[1]) / (cpu_last[0] - cpu_first[0]), 1),
            "measuredSeconds": round((last["video"]["timestamp"] - first["video"]["timestamp"]) / 1000, 2),
        }
        checks = {
            "640x360 decoded": video.get("frameWidth") == 640 and video.get("frameHeight") == 360,
            "framesDecoded increasing": all(b > a for a, b in zip(decoded, decoded[1:])),
            "about 15 frames per second": 10 <= (decoded[-1] - first["video"]["framesDecoded"]) / (
                (video["timestamp"] - first["video"]["timestamp"]) / 1000) <= 16.5 and fps[-1] > 0,
            "audio received": not AUDIO or bool(audio) and audio.get("packetsReceived", 0) > 100,
            "100 Hz tone > -3 dB": not AUDIO or level_db is not None and level_db > -3,
            # Sample-accurate RTP timestamps keep this near 0 (0-1.5% on a machine at load 13 on 2 cores); arrival
            # stamps gave 48%.
            "audio mostly not concealed (< 20%)": not AUDIO or figures["audioConcealedPercent"] is not None
            and figures["audioConcealedPercent"] < 20,
            "audio + video within budget": wire_kbps <= BUDGET_KBPS,
        }
        figures["secondsToFirstFrame"] = round(first_frame_seconds, 2)
        if LOSS > 0:
            figures, checks = loss_checks(boothd, figures, video, first["video"], decoded)
        return figures, checks, None
    finally:
        chromium.stop()


def loss_checks(boothd, figures, video, first_video, decoded):
    """With injected loss: the estimate measured from RTCP goes down, the camera's budget follows, video goes on."""
    text = open(boothd.log.name, errors="replace").read()
    measured = [int(k) for k in re.findall(r"measured bandwidth.*?kbps=(\d+)", text)]
    plans = [int(k) for k in re.findall(r"live media budget.*?video (\d+)", text)]
    losses = [float(k) for k in re.findall(r"measured bandwidth.*?loss=([0-9.]+)", text)]
    figures.update({
        "injectedLoss": LOSS, "measuredKbps": measured, "videoBudgetKbps": plans[-8:],
        "reportedLoss": round(max(losses), 3) if losses else None,
    })
    checks = {
        "receiver reports loss": bool(losses) and max(losses) > 0.05,
        "measured bandwidth lowered below 80% of the budget": bool(measured) and min(measured) < 0.8 * BUDGET_KBPS,
        "video budget follows the measurement": bool(plans) and min(plans) < 0.8 * BUDGET_KBPS,
        "video still decoded": decoded[-1] > first_video["framesDecoded"],
        "never above the budget": all(k <= BUDGET_KBPS for k in measured),
    }
    return figures, checks


def main():
    with tempfile.TemporaryDirectory(prefix="boothd-webrtc-") as state:
        boothd = start_boothd(state)
        try:
            started = time.time()
            if "--no-signaling" not in sys.argv:
                asyncio.run(signaling(boothd))
            figures, checks, _ = asyncio.run(receive_in_chromium(boothd, state))
        except BaseException:
            stop_boothd(boothd)
            sys.stderr.write(boothd.log_text()[-4000:])
            raise
        stop_boothd(boothd)
        failed = [name for name, ok in checks.items() if not ok]
        if AS_JSON:
            print(json.dumps(figures))
        else:
            print("webrtc in headless Chromium: " + json.dumps(figures))
        if failed:
            raise SystemExit(f"webrtc in headless Chromium: failed {', '.join(failed)}")
        log(f"webrtc in headless Chromium: {', '.join(checks)} ({time.time() - started:.1f} s)")


main()
