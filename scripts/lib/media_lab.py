"""Shared pieces of the media lab guest clients (scripts/hwlab/camera-faults-client.py, media-hotplug-client.py).

Both run in the lab VM against boothd with udev discovery (no simulator) on real kernel devices (vivid, snd-aloop),
with the lab profiles that give those devices their roles. They speak the session API through the helpers of
scripts/test.d/40-api-e2e.py (every message validated against the schemas) and 43-media-artifacts.py, and follow
the device list while they wait for a device to reach a state.
"""

import asyncio
import importlib.util
import os
import subprocess
import tempfile
import time

VIVID = ["vivid", "n_devs=1", "node_types=0x1", "input_types=0x00"]
CAMERA = "v4l2:vivid.0"


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_modules(root):
    """The e2e and media-artifact test modules (they read BOOTHD and ROOT from sys.argv, like the clients)."""
    e2e = load("api_e2e", os.path.join(root, "scripts/test.d/40-api-e2e.py"))
    media = load("media_e2e", os.path.join(root, "scripts/test.d/43-media-artifacts.py"))
    return e2e, media


def sh(*args, check=True, timeout=180):
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return result


def acking(e2e):
    """An `on_event` for Devices that acknowledges each event read while waiting."""

    async def ack(ws, message):
        await e2e.send(ws, {"type": "ack", "upTo": message["id"]})

    return ack


def keeping_artifacts(media):
    """An `on_event` for Devices that keeps the events read while waiting for media.wait_artifact (not acked yet)."""

    async def keep(ws, message):
        media.pending_artifacts.setdefault(message["data"].get("artifact", {}).get("id"), message)

    return keep


class Devices:
    """Follows the device list: `devices` at connect, then `device` changes. Events read meanwhile go to
    `on_event(ws, message)`."""

    def __init__(self, e2e, on_event):
        self.e2e = e2e
        self.on_event = on_event
        self.state = {}

    def feed(self, message):
        if message["type"] == "devices":
            for device in message["devices"]:
                self.state[device["id"]] = device
        elif message["type"] == "device":
            self.state[message["device"]["id"]] = message["device"]

    async def until(self, ws, device_id, predicate, what, timeout):
        """The device once `predicate(device)` holds, reading messages meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            device = self.state.get(device_id)
            if device and predicate(device):
                return device
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{device_id}: {what} not seen within {timeout} s (now {device})")
            try:
                message = await self.e2e.recv(ws, timeout=left)
            except asyncio.TimeoutError:
                continue
            if message["type"] == "event":
                await self.on_event(ws, message)
            else:
                self.feed(message)

    async def wait(self, ws, device_id, states, timeout):
        """The device once its state is one of `states`."""
        return await self.until(ws, device_id, lambda d: d["state"] in states, f"state in {sorted(states)}", timeout)


async def connect(e2e, daemon, on_event, timeout=5):
    """The session WebSocket after hello/welcome, and a Devices fed with the list boothd sends first."""
    ws = await e2e.websockets.connect(daemon.url, max_size=2**24)
    await e2e.send(ws, {"type": "hello", "protocol": 1, "token": daemon.token, "clientId": "lab"})
    assert (await e2e.recv(ws, timeout=timeout))["type"] == "welcome"
    devices = Devices(e2e, on_event)
    devices.feed(await e2e.recv(ws, timeout=timeout))
    return ws, devices


def print_log_tail(log):
    print(log[-6000:])


async def run_daemon(e2e, root, prefix, scenario, settings=(), on_failure=print_log_tail):
    """Runs `scenario(daemon)` against boothd (udev discovery, the lab media profiles, `settings` as --set
    key=value) in a fresh state directory; on failure `on_failure(boothd's log)` prints what helps, then it raises."""
    profiles = f"{root}/firmware-profiles,{root}/scripts/hwlab/profiles-media"
    extra = ["--set", f"profiles.directories={profiles}"]
    for setting in settings:
        extra += ["--set", setting]
    with tempfile.TemporaryDirectory(prefix=prefix) as state_dir:
        daemon = e2e.Daemon(state_dir, e2e.free_port(), extra=extra)
        try:
            daemon.start(ready_timeout=90)  # a debug build under TCG
            await scenario(daemon)
        except BaseException:
            on_failure(open(os.path.join(state_dir, "boothd.log")).read())
            raise
        finally:
            daemon.stop()
