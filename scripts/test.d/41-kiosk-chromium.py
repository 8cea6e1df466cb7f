"""Headless Chromium against the sample kiosk page served by the real boothd: vitals recorded in the session
appear on the page (delivered over the WebSocket with the token from the URL fragment).

Usage: python 41-kiosk-chromium.py BOOTHD_BINARY REPO_ROOT CHROMIUM
"""

import asyncio
import os
import subprocess
import sys
import tempfile
import time

BOOTHD, ROOT, CHROMIUM = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from boothd_harness import Boothd, Client  # noqa: E402


async def record(daemon):
    client = await Client.connect(daemon, "feeder")
    try:
        for name, params in [
            ("session.start", {"sessionId": "S-chromium", "contextRef": "opaque"}),
            ("test.record", {"measurementId": "chromium-spo2", "value": 93}),
        ]:
            reply = await client.command(name, timeout=5, **params)
            if reply["type"] != "result":
                raise AssertionError(reply)
    finally:
        await client.close()


class Kiosk:
    """boothd started with `settings`, then its kiosk page as headless Chromium renders it."""

    def __init__(self, state, settings):
        self.state = state
        self.daemon = Boothd(BOOTHD, state_dir=state, settings=dict(settings, **{"api.web_directory": f"{ROOT}/web"}))
        self.port = self.daemon.port
        self.daemon.settings["api.allowed_origins"] = f"http://127.0.0.1:{self.port}"
        self.daemon.start(timeout=20)
        self.token = self.daemon.token

    def dom(self):
        profile = os.path.join(self.state, "chromium-profile")
        return subprocess.run([
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
            "--virtual-time-budget=4000", "--run-all-compositor-stages-before-draw", "--dump-dom",
            f"http://127.0.0.1:{self.port}/#token={self.token}",
        ], capture_output=True, text=True, timeout=60).stdout

    def stop(self):
        self.daemon.stop(timeout=10)


def report(what, dom, checks):
    failed = [name for name, passed in checks.items() if not passed]
    if failed:
        print(dom[:3000])
        raise SystemExit(f"{what}: missing {', '.join(failed)}")
    print(f"{what} in headless Chromium: {', '.join(checks)}")


def main():
    with tempfile.TemporaryDirectory(prefix="boothd-kiosk-") as state:
        kiosk = Kiosk(state, {"api.test_commands": "true", "simulator.mode": "off"})
        try:
            asyncio.run(record(kiosk.daemon))
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
        kiosk = Kiosk(state, {"simulator.mode": "on", "simulator.interval_seconds": "0.3",
                              "profiles.directories": f"{ROOT}/firmware-profiles"})
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
