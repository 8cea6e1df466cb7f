"""Lab guest client: the camera snapshot button and the wedged-camera watchdog on real kernel devices.

boothd runs with udev discovery (no simulator) on vivid (an otoscope by the lab profile, whose `button_input`
binds the input device named "Lab camera button"). Then, over the session API:
  1. a uinput device with KEY_CAMERA appears (hotplug) and is pressed: a snapshot artifact of the camera reaches the
     WebSocket client without any command (press → artifact time printed);
  2. vivid's "Percentage of Dropped Buffers" control at 100 makes the real V4L2 device stop delivering frames while
     streaming: the watchdog reports a warning (no frames, not a USB device: restart only), the stall is counted in
     /metrics; back at 0 the camera recovers (warning cleared, ready, snapshot works);
  3. wedged again within the episode: with media.camera_max_resets=1 the camera goes to `error` with the reason and
     a snapshot says why.

Usage (in the lab VM): python camera-faults-client.py BOOTHD_BINARY REPO_ROOT
"""

import asyncio
import fcntl
import os
import struct
import sys
import time
import urllib.request

ROOT = sys.argv[2]
sys.path.insert(0, os.path.join(ROOT, "scripts/lib"))
from media_lab import CAMERA, VIVID, acking, connect, run_daemon, sh, test_modules  # noqa: E402

e2e, media = test_modules(ROOT)
STALL_SECONDS = 4
BUTTON_NAME = "Lab camera button"
KEY_CAMERA = 212


class UInputButton:
    """A uinput device with KEY_CAMERA, written to /dev/uinput directly (legacy uinput_user_dev set-up)."""

    UI_SET_EVBIT = 0x40045564
    UI_SET_KEYBIT = 0x40045565
    UI_DEV_CREATE = 0x5501
    UI_DEV_DESTROY = 0x5502

    def __init__(self, name):
        self.fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, self.UI_SET_EVBIT, 1)  # EV_KEY
        fcntl.ioctl(self.fd, self.UI_SET_KEYBIT, KEY_CAMERA)
        # struct uinput_user_dev: name[80], input_id (bustype BUS_VIRTUAL, vendor, product, version), ff_effects_max,
        # absmax/absmin/absfuzz/absflat[64]: 1116 bytes.
        setup = struct.pack("80sHHHHI", name.encode(), 0x06, 0x1209, 0x0001, 1, 0) + bytes(4 * 64 * 4)
        assert len(setup) == 1116
        os.write(self.fd, setup)
        fcntl.ioctl(self.fd, self.UI_DEV_CREATE)

    def event(self, type_, code, value):
        os.write(self.fd, struct.pack("qqHHi", 0, 0, type_, code, value))

    def press(self):
        self.event(1, KEY_CAMERA, 1)
        self.event(0, 0, 0)
        self.event(1, KEY_CAMERA, 0)
        self.event(0, 0, 0)

    def close(self):
        fcntl.ioctl(self.fd, self.UI_DEV_DESTROY)
        os.close(self.fd)


def vivid_control(node, name, value):
    """Sets a V4L2 control by its name (VIDIOC_QUERYCTRL walk, then VIDIOC_S_CTRL); returns its id."""
    querys, s_ctrl, next_ctrl = 0xC0445624, 0xC008561C, 0x80000000
    fd = os.open(node, os.O_RDWR)
    try:
        control = 0
        while True:
            query = bytearray(struct.pack("II32siiiiIII", control | next_ctrl, 0, b"", 0, 0, 0, 0, 0, 0, 0))
            try:
                fcntl.ioctl(fd, querys, query)
            except OSError:
                raise AssertionError(f"{node} has no control named {name!r}")
            control, _, raw = struct.unpack_from("II32s", query)
            if raw.split(b"\0")[0].decode() == name:
                fcntl.ioctl(fd, s_ctrl, bytearray(struct.pack("Ii", control, value)))
                return control
    finally:
        os.close(fd)


def vivid_node():
    for entry in sorted(os.listdir("/sys/class/video4linux")):
        with open(f"/sys/class/video4linux/{entry}/name") as f:
            if f.read().startswith("vivid"):
                return f"/dev/{entry}"
    raise AssertionError("no vivid node")


def metric(daemon, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and 'device="v4l2:vivid.0"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def main():
    sh("modprobe", *VIVID)
    sh("modprobe", "uinput")
    sh("modprobe", "evdev")  # /dev/input/eventN (udevd loads it on a booth; the lab guest runs no udevd)
    settings = [
        f"media.camera_stall_seconds={STALL_SECONDS}",
        "media.camera_max_resets=1",
        # The camera streams all the time here (no on-demand idle stop): the watchdog acts on a streaming
        # camera, and an idle one streams nothing to stall.
        "media.camera_idle_seconds=0",
        "logging.level=debug",
    ]
    await run_daemon(e2e, ROOT, "boothd-camfaults-", scenario, settings, on_failure=print_failure)
    print(f"camera faults lab: all passed ({e2e.validated} server messages validated)")


def print_failure(log):
    print("\n".join(line for line in log.splitlines() if "input" in line or "button" in line)[-4000:])
    print(log[-6000:])


async def next_snapshot_event(ws, devices, timeout):
    """The next `artifact` event of a snapshot (acknowledged), following device changes meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = await e2e.recv(ws, timeout=max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            continue
        if message["type"] == "event":
            await e2e.send(ws, {"type": "ack", "upTo": message["id"]})
            if message["event"] == "artifact" and message["data"]["artifact"]["kind"] == "snapshot":
                return message
        else:
            devices.feed(message)
    raise AssertionError(f"no snapshot artifact within {timeout} s")


async def scenario(daemon):
    # A debug build under TCG on a loaded host may take seconds to answer.
    ws, devices = await connect(e2e, daemon, acking(e2e), timeout=60)
    await devices.until(ws, CAMERA, lambda d: d["state"] == "ready", "ready", 150)
    e2e.ok(f"{CAMERA} ready (udev discovery)")

    # 1. The snapshot button: a uinput KEY_CAMERA device plugged in after the camera, bound by the profile's name.
    button = UInputButton(BUTTON_NAME)
    try:
        await asyncio.sleep(2)  # the uevent reaches boothd, which opens the node
        blocks = open("/proc/bus/input/devices").read().split("\n\n")
        print("uinput device:", [b for b in blocks if BUTTON_NAME in b])
        pressed = time.monotonic()
        button.press()
        event = await next_snapshot_event(ws, devices, 60)
        elapsed = time.monotonic() - pressed
        artifact = event["data"]["artifact"]
        assert artifact["deviceId"] == CAMERA, artifact
        body = media.check_part(daemon, artifact, "snapshot.jpg", "image/jpeg")
        size = media.jpeg_size(body)
        assert size == (int(artifact["metadata"]["width"]), int(artifact["metadata"]["height"])), size
        e2e.ok(f"KEY_CAMERA press on uinput '{BUTTON_NAME}' → snapshot artifact {size[0]}x{size[1]} on the "
               f"WebSocket in {elapsed:.2f} s (no command sent)")
    finally:
        button.close()

    # 2. Wedge: vivid stops delivering frames while streaming.
    node = vivid_node()
    stalls_before = metric(daemon, "boothd_camera_stalls_total")
    wedged = time.monotonic()
    vivid_control(node, "Percentage of Dropped Buffers", 100)
    device = await devices.until(ws, CAMERA, lambda d: "camera wedged" in (d.get("warning") or ""), "wedge warning",
                                 90)
    detected = time.monotonic() - wedged
    warning = device["warning"]
    assert f"no frame for {STALL_SECONDS}." in warning and "not a USB device" in warning and "(1/1)" in warning, warning
    stalls = metric(daemon, "boothd_camera_stalls_total") - stalls_before
    assert stalls >= 1, stalls
    e2e.ok(f"vivid dropping every buffer → watchdog warning after {detected:.1f} s (stall timeout "
           f"{STALL_SECONDS} s): {warning!r}; boothd_camera_stalls_total +{stalls:.0f}")
    recovering = time.monotonic()
    vivid_control(node, "Percentage of Dropped Buffers", 0)
    await devices.until(ws, CAMERA, lambda d: d["state"] == "ready" and not d.get("warning"), "recovery", 90)
    recovered = time.monotonic() - recovering
    reply = await media.command(ws, "snap-after", "snapshot.take", deviceId=CAMERA, timeout=90)
    assert reply["type"] == "result", reply
    e2e.ok(f"frames again → warning cleared, ready in {recovered:.1f} s; snapshot works")

    # 3. Wedged again within the episode: no resets left → error with the reason.
    vivid_control(node, "Percentage of Dropped Buffers", 100)
    device = await devices.until(ws, CAMERA, lambda d: d["state"] == "error" and "after 1 restarts" in
                                 (d.get("stateReason") or ""), "error state", 90)
    reason = device["stateReason"]
    reply = await media.command(ws, "snap-dead", "snapshot.take", deviceId=CAMERA, timeout=90)
    assert reply["type"] == "error" and "camera wedged" in reply.get("message", ""), reply
    e2e.ok(f"still wedged → error: {reason!r}; snapshot.take → {reply['code']}")
    vivid_control(node, "Percentage of Dropped Buffers", 0)
    await ws.close()


asyncio.run(main())
