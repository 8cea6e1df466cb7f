"""Lab guest client: boothd with udev discovery on real kernel devices (vivid, snd-aloop).

Loads the modules, starts boothd (no simulator; lab profiles make vivid an otoscope and snd-aloop's capture side a
stethoscope), then over the session API: both devices appear with their roles; a snapshot and a recording become
artifacts; the camera is unplugged (vivid's disconnect control, then module removal) and the stethoscope too
(module removal): each goes `gone`, and after re-loading its module comes back `ready` (resume time printed; the
stethoscope then re-plugged 6 more times (MEDIA_HOTPLUG_REPLUGS), each must come back);
a snapshot after the camera's return works.

Usage (in the lab VM): python media-hotplug-client.py BOOTHD_BINARY REPO_ROOT
"""

import asyncio
import os
import sys
import tempfile
import time

ROOT = sys.argv[2]
sys.path.insert(0, os.path.join(ROOT, "scripts/lib"))
from media_lab import CAMERA, VIVID, connect, keeping_artifacts, run_daemon, sh, test_modules  # noqa: E402

e2e, media = test_modules(ROOT)
STETHOSCOPE = "alsa:Loopback:1"
REPLUGS = int(os.environ.get("MEDIA_HOTPLUG_REPLUGS", "6"))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def boothctl_camera():
    """`boothctl camera ...` against vivid (human and --json output)."""
    import json
    boothctl = os.path.join(os.path.dirname(sys.argv[1]), "boothctl")
    listed = json.loads(sh(boothctl, "camera", "list", "--json").stdout)
    vivid = [c for c in listed if c["card"].startswith("vivid")]
    assert vivid and "YUYV" in vivid[0]["formats"], listed
    node = vivid[0]["path"]
    formats = json.loads(sh(boothctl, "camera", "formats", "--device", node, "--json").stdout)
    assert any(f["fourcc"] == "YUYV" and f["sizes"] for f in formats), formats
    controls = json.loads(sh(boothctl, "camera", "controls", "--device", node, "--json").stdout)
    brightness = next(c for c in controls if c.get("role") == "brightness")
    assert brightness["maximum"] > brightness["minimum"], brightness
    human = sh(boothctl, "camera", "controls", "--device", node).stdout
    assert "brightness [brightness]" in human, human
    path = os.path.join(tempfile.gettempdir(), "vivid.jpg")
    shot = json.loads(sh(boothctl, "camera", "snapshot", "--device", node, "-o", path, "--json").stdout)
    assert media.jpeg_size(open(path, "rb").read()) == (shot["width"], shot["height"]), shot
    test = json.loads(sh(boothctl, "camera", "stream-test", "--device", node, "--seconds", "4", "--json").stdout)
    assert test["frames"] > 0 and test["bitrateKbps"] > 0, test
    e2e.ok(f"boothctl camera list/formats/controls/snapshot/stream-test on {node}: snapshot {shot['width']}x"
           f"{shot['height']} in {shot['snapshotMilliseconds']:.0f} ms; stream {test['framesPerSecond']:.1f} fps, "
           f"{test['bitrateKbps']:.0f} kbit/s (budget {test['budgetKbps']}), first frame "
           f"{test['firstFrameMilliseconds']:.0f} ms (TCG guest, debug build)")


async def main():
    sh("modprobe", *VIVID)
    sh("modprobe", "snd-aloop")
    boothctl_camera()
    await run_daemon(e2e, ROOT, "boothd-hotplug-", scenario)
    print(f"media hotplug lab: all passed ({e2e.validated} server messages validated)")


async def scenario(daemon):
    ws, devices = await connect(e2e, daemon, keeping_artifacts(media))
    camera = await devices.wait(ws, CAMERA, {"ready"}, 150)  # a debug build under TCG starts slowly
    steth = await devices.wait(ws, STETHOSCOPE, {"ready"}, 30)
    assert camera["role"] == "otoscope" and camera["transport"] == "v4l2", camera
    assert steth["role"] == "stethoscope" and steth["transport"] == "alsa", steth
    e2e.ok(f"udev discovery: {CAMERA} ({camera['model']}) otoscope and {STETHOSCOPE} stethoscope ready")

    reply = await media.command(ws, "snap1", "snapshot.take", deviceId=CAMERA, timeout=90)
    assert reply["type"] == "result", reply
    event = await media.wait_artifact(ws, reply["data"]["artifactId"])
    body = media.check_part(daemon, event["data"]["artifact"], "snapshot.jpg", "image/jpeg")
    size = media.jpeg_size(body)
    assert size == (int(reply["data"]["width"]), int(reply["data"]["height"])), size
    snapshot_ms = reply["data"]["latencyMs"]
    reply = await media.command(ws, "ctl1", "camera.control", deviceId=CAMERA, control="brightness", value="200", timeout=90)
    assert reply["type"] in ("result", "error"), reply
    e2e.ok(f"vivid snapshot {size[0]}x{size[1]} in {snapshot_ms} ms; "
           f"camera.control brightness → {reply['type']} {reply.get('code', '')}")

    reply = await media.command(ws, "rec1", "measurement.start", deviceId=STETHOSCOPE, seconds=2, timeout=90)
    assert reply["type"] == "result", reply
    event = await media.wait_artifact(ws, reply["data"]["artifactId"], timeout=60)
    flac = media.check_part(daemon, event["data"]["artifact"], "recording.flac", "audio/flac")
    rate, channels, frames = media.flac_streaminfo(flac)
    assert rate == 48000 and frames == 2 * 48000, (rate, channels, frames)
    e2e.ok("snd-aloop recording 2 s: FLAC 48000 Hz over HTTP")

    # Camera unplug: unbinding the vivid platform device from its driver unregisters the node (with the stream open
    # if the on-demand camera still runs after the snapshot), as pulling a USB camera does (a udev remove); binding
    # it again is the re-plug (udev add).
    started = time.monotonic()
    write("/sys/bus/platform/drivers/vivid/unbind", "vivid.0")
    await devices.wait(ws, CAMERA, {"gone"}, 30)
    gone_after = time.monotonic() - started
    plugged = time.monotonic()
    write("/sys/bus/platform/drivers/vivid/bind", "vivid.0")
    await devices.wait(ws, CAMERA, {"ready"}, 150)
    camera_resume = time.monotonic() - plugged
    reply = await media.command(ws, "snap2", "snapshot.take", deviceId=CAMERA, timeout=90)
    assert reply["type"] == "result", reply
    e2e.ok(f"camera unplugged (running or idle: cameras run on demand) → gone in {gone_after:.2f} s; re-plug → ready in {camera_resume:.2f} s "
           f"(pipeline start under TCG, debug build), snapshot works again")

    # Stethoscope unplug during a recording: the partial recording is kept (complete=false), the device goes gone.
    reply = await media.command(ws, "rec3", "measurement.start", deviceId=STETHOSCOPE, seconds=30, timeout=90)
    assert reply["type"] == "result", reply
    await asyncio.sleep(3)
    started = time.monotonic()
    write("/sys/bus/platform/drivers/snd_aloop/unbind", "snd_aloop.0")
    await devices.wait(ws, STETHOSCOPE, {"gone"}, 30)
    gone_after = time.monotonic() - started
    event = await media.wait_artifact(ws, reply["data"]["artifactId"], timeout=90)
    partial = event["data"]["artifact"]
    assert not partial["complete"] and partial["metadata"].get("truncatedBy") == "device", partial
    seconds = float(partial["metadata"]["durationSeconds"])
    assert 0.5 < seconds < 29, seconds
    plugged = time.monotonic()
    write("/sys/bus/platform/drivers/snd_aloop/bind", "snd_aloop.0")
    await devices.wait(ws, STETHOSCOPE, {"ready"}, 60)
    steth_resume = time.monotonic() - plugged
    reply = await media.command(ws, "rec4", "measurement.start", deviceId=STETHOSCOPE, seconds=1, timeout=90)
    assert reply["type"] == "result", reply
    await media.wait_artifact(ws, reply["data"]["artifactId"], timeout=60)
    e2e.ok(f"stethoscope unplugged during a recording → gone in {gone_after:.2f} s, partial recording kept "
           f"({seconds:.1f} s, complete=false); re-plug → ready in {steth_resume:.2f} s; records again")

    # Quick re-plugs: the kernel sends the capture PCM's `add` before it names the card, so about 1 re-plug in 4
    # reaches boothd with an empty card id (11 of 40 in a probe); boothd must wait for the name every time.
    resumes = []
    for _ in range(REPLUGS):
        write("/sys/bus/platform/drivers/snd_aloop/unbind", "snd_aloop.0")
        await devices.wait(ws, STETHOSCOPE, {"gone"}, 30)
        plugged = time.monotonic()
        write("/sys/bus/platform/drivers/snd_aloop/bind", "snd_aloop.0")
        await devices.wait(ws, STETHOSCOPE, {"ready"}, 30)
        resumes.append(time.monotonic() - plugged)
    with open(os.path.join(daemon.state_dir, "boothd.log")) as log:
        waited = sum("sound card named after its capture device was added" in line and "pcmC0D1c" in line
                     for line in log)
    e2e.ok(f"{REPLUGS} quick stethoscope re-plugs → ready each time in {min(resumes):.2f}–{max(resumes):.2f} s; "
           f"the card was not named yet at the stethoscope PCM's add {waited} of {REPLUGS + 1} times (boothd waited)")
    print(f"media hotplug lab: resume camera {camera_resume:.2f} s, stethoscope {steth_resume:.2f} s (TCG guest)")
    await ws.close()


asyncio.run(main())
