"""Headless Chromium against the sample kiosk page served by the real boothd: vitals recorded in the session
appear on the page (delivered over the WebSocket with the token from the URL fragment).

Usage: python 41-kiosk-chromium.py BOOTHD_BINARY REPO_ROOT CHROMIUM
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

BOOTHD, ROOT, CHROMIUM = sys.argv[1], sys.argv[2], sys.argv[3]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def record(port, token):
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": token, "clientId": "feeder"}))
        requests = [
            ("session.start", {"sessionId": "S-chromium", "contextRef": "opaque"}),
            ("test.record", {"measurementId": "chromium-spo2", "value": 93}),
        ]
        for index, (name, params) in enumerate(requests):
            await ws.send(json.dumps({"type": "command", "id": str(index), "command": name, "params": params}))
        results = 0
        while results < len(requests):
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if message["type"] == "error":
                raise AssertionError(message)
            results += message["type"] == "result"


class Kiosk:
    """boothd started with `settings`, then its kiosk page as headless Chromium renders it."""

    def __init__(self, state, settings):
        self.state = state
        self.port = free_port()
        log = open(os.path.join(state, "boothd.log"), "wb")
        arguments = [f"api.port={self.port}", f"storage.state_directory={state}",
                     f"api.allowed_origins=http://127.0.0.1:{self.port}", f"api.web_directory={ROOT}/web"] + settings
        self.daemon = subprocess.Popen([BOOTHD] + [item for a in arguments for item in ("--set", a)],
                                       stdout=log, stderr=log)
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                break
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise
                time.sleep(0.1)
        self.token = open(os.path.join(state, "api-token")).read().strip()

    def dom(self):
        profile = os.path.join(self.state, "chromium-profile")
        return subprocess.run([
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
            "--virtual-time-budget=4000", "--run-all-compositor-stages-before-draw", "--dump-dom",
            f"http://127.0.0.1:{self.port}/#token={self.token}",
        ], capture_output=True, text=True, timeout=60).stdout

    def stop(self):
        self.daemon.terminate()
        self.daemon.wait(timeout=10)


def report(what, dom, checks):
    failed = [name for name, passed in checks.items() if not passed]
    if failed:
        print(dom[:3000])
        raise SystemExit(f"{what}: missing {', '.join(failed)}")
    print(f"{what} in headless Chromium: {', '.join(checks)}")


def main():
    with tempfile.TemporaryDirectory(prefix="boothd-kiosk-") as state:
        kiosk = Kiosk(state, ["api.test_commands=true", "simulator.mode=off"])
        try:
            asyncio.run(record(kiosk.port, kiosk.token))
            dom = kiosk.dom()
            report("kiosk page", dom, {
                "connected": "connected (storage ok)" in dom,
                "session shown": "S-chromium" in dom,
                "SpO2 93 shown": 'data-code="150456"' in dom and ">93<" in dom,
                "pulse 72 shown": 'data-code="149530"' in dom and ">72<" in dom,
            })
        finally:
            kiosk.stop()


def simulator():
    """The embedded default: boothd on its simulator, no test commands; the page shows its devices and vitals."""
    with tempfile.TemporaryDirectory(prefix="boothd-kiosk-sim-") as state:
        kiosk = Kiosk(state, ["simulator.mode=on", "simulator.interval_seconds=0.3",
                              f"profiles.directories={ROOT}/firmware-profiles"])
        try:
            time.sleep(6)  # the cuff and the thermometer measure less often than the oximeter
            dom = kiosk.dom()
            report("kiosk page on the simulator", dom, {
                "simulated devices listed": all(
                    name in dom for name in ("Simulated PLX oximeter", "Simulated BPS cuff", "Simulated HTS thermometer")
                ),
                "SpO2 from the simulator": 'data-code="150456"' in dom,
                "systolic from the simulator": 'data-code="150021"' in dom,
                "temperature from the simulator": 'data-code="150364"' in dom,
                "camera preview wired": "/camera/preview.mjpg?token=" in dom,
                "live WebRTC video element": 'id="live"' in dom and "live-status" in dom,
                "live ECG chunks reach the ECG grid": "sim:ecg · single lead · 130 Hz" in dom,
            })
        finally:
            kiosk.stop()


main()
simulator()
