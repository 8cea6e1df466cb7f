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


def main():
    with tempfile.TemporaryDirectory(prefix="boothd-kiosk-") as state:
        port = free_port()
        log = open(os.path.join(state, "boothd.log"), "wb")
        daemon = subprocess.Popen([
            BOOTHD, "--set", f"api.port={port}", "--set", f"storage.state_directory={state}",
            "--set", "api.test_commands=true", "--set", f"api.allowed_origins=http://127.0.0.1:{port}",
            "--set", f"api.web_directory={ROOT}/web", "--set", "simulator.mode=off",
        ], stdout=log, stderr=log)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            token = open(os.path.join(state, "api-token")).read().strip()
            asyncio.run(record(port, token))
            profile = os.path.join(state, "chromium-profile")
            dom = subprocess.run([
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                "--virtual-time-budget=4000", "--run-all-compositor-stages-before-draw", "--dump-dom",
                f"http://127.0.0.1:{port}/#token={token}",
            ], capture_output=True, text=True, timeout=60).stdout
            checks = {
                "connected": "connected (storage ok)" in dom,
                "session shown": "S-chromium" in dom,
                "SpO2 93 shown": 'data-code="150456"' in dom and ">93<" in dom,
                "pulse 72 shown": 'data-code="149530"' in dom and ">72<" in dom,
            }
            failed = [name for name, passed in checks.items() if not passed]
            if failed:
                print(dom[:3000])
                raise SystemExit(f"kiosk page: missing {', '.join(failed)}")
            print(f"kiosk page in headless Chromium: {', '.join(checks)}")
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)


def simulator():
    """The embedded default: boothd on its simulator, no test commands; the page shows its devices and vitals."""
    with tempfile.TemporaryDirectory(prefix="boothd-kiosk-sim-") as state:
        port = free_port()
        log = open(os.path.join(state, "boothd.log"), "wb")
        daemon = subprocess.Popen([
            BOOTHD, "--set", f"api.port={port}", "--set", f"storage.state_directory={state}",
            "--set", f"api.allowed_origins=http://127.0.0.1:{port}", "--set", f"api.web_directory={ROOT}/web",
            "--set", "simulator.mode=on", "--set", "simulator.interval_seconds=0.3",
            "--set", f"profiles.directories={ROOT}/firmware-profiles",
        ], stdout=log, stderr=log)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            time.sleep(6)  # the cuff and the thermometer measure less often than the oximeter
            token = open(os.path.join(state, "api-token")).read().strip()
            profile = os.path.join(state, "chromium-profile")
            dom = subprocess.run([
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                "--virtual-time-budget=4000", "--run-all-compositor-stages-before-draw", "--dump-dom",
                f"http://127.0.0.1:{port}/#token={token}",
            ], capture_output=True, text=True, timeout=60).stdout
            checks = {
                "simulated devices listed": all(
                    name in dom for name in ("Simulated PLX oximeter", "Simulated BPS cuff", "Simulated HTS thermometer")
                ),
                "SpO2 from the simulator": 'data-code="150456"' in dom,
                "systolic from the simulator": 'data-code="150021"' in dom,
                "temperature from the simulator": 'data-code="150364"' in dom,
                "camera preview wired": "/camera/preview.mjpg?token=" in dom,
            }
            failed = [name for name, passed in checks.items() if not passed]
            if failed:
                print(dom[:3000])
                raise SystemExit(f"kiosk page on the simulator: missing {', '.join(failed)}")
            print(f"kiosk page on the simulator in headless Chromium: {', '.join(checks)}")
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)


main()
simulator()
