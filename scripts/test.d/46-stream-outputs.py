"""RTP and SRT outputs of boothd's live stream (`media.outputs`), received by real GStreamer pipelines.

boothd runs on its simulator (videotestsrc camera, 640x360) with one RTP output to a UDP port and one SRT
listener; gst-launch-1.0 receives each (udpsrc → rtph264depay → decodebin, srtsrc caller → decodebin) and the
decoded frames and their size are checked. A bad output URL stops boothd with a configuration error (exit 78).

Usage: python 46-stream-outputs.py BOOTHD_BINARY
"""

import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from boothd_harness import Boothd, checker  # noqa: E402


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def receive(source, seconds=6):
    """Runs a gst-launch receiver for `seconds`; returns (frames, width, height) of the decoded video."""
    pipeline = f"{source} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! fakesink sync=false silent=false"
    result = subprocess.run(
        ["timeout", "-s", "INT", str(seconds), "gst-launch-1.0", "-v", "-e", *pipeline.split(" ")],
        capture_output=True,
        text=True,
    )
    out = result.stdout + result.stderr
    frames = len(re.findall(r"last-message = chain", out))
    size = re.search(r"fakesink0\.GstPad:sink: caps = video/x-raw.*?width=\(int\)(\d+), height=\(int\)(\d+)", out)
    return frames, int(size.group(1)) if size else 0, int(size.group(2)) if size else 0


def main():
    binary = sys.argv[1]
    check, failures = checker()
    rtp_port = free_udp_port()
    srt_port = free_udp_port()
    outputs = f"rtp://127.0.0.1:{rtp_port},srt://127.0.0.1:{srt_port}?mode=listener&latency=80"
    daemon = Boothd(binary, settings={"media.outputs": outputs})
    try:
        daemon.start()
        frames, width, height = receive(
            f"udpsrc address=127.0.0.1 port={rtp_port} "
            "caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96 ! rtph264depay"
        )
        print(f"rtp: {frames} frames decoded, {width}x{height}")
        check(frames >= 30, f"RTP output: decoded frames arrive ({frames})")
        check((width, height) == (640, 360), f"RTP output: 640x360 ({width}x{height})")
        frames, width, height = receive(f"srtsrc uri=srt://127.0.0.1:{srt_port}?mode=caller&latency=80")
        print(f"srt: {frames} frames decoded, {width}x{height}")
        check(frames >= 30, f"SRT output: decoded frames arrive ({frames})")
        check((width, height) == (640, 360), f"SRT output: 640x360 ({width}x{height})")
        with open(daemon.log_path, errors="replace") as log:
            check("live stream outputs started" in log.read(), "boothd logs the outputs it started")
    finally:
        daemon.cleanup()

    # The technician's command: boothctl camera stream-test --output (the test pattern, 3 s).
    boothctl = os.path.join(os.path.dirname(binary), "boothctl")
    port = free_udp_port()
    receiver = subprocess.Popen(
        ["timeout", "-s", "INT", "8", "gst-launch-1.0", "-v", "-e", "udpsrc", "address=127.0.0.1", f"port={port}",
         "caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96", "!", "rtph264depay",
         "!", "decodebin", "!", "videoconvert", "!", "fakesink", "sync=false", "silent=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    tool = subprocess.run(
        [boothctl, "camera", "stream-test", "--test-pattern", "--mode", "640x360@30", "--seconds", "3",
         "--output", f"rtp://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=60,
    )
    out, _ = receiver.communicate(timeout=30)
    frames = len(re.findall(r"last-message = chain", out))
    print(f"boothctl stream-test --output: {frames} frames decoded; {tool.stdout.strip().splitlines()[-1:]}")
    check(tool.returncode == 0 and "access units" in tool.stdout, "boothctl stream-test reports the output")
    check(frames >= 30, f"boothctl stream-test --output: decoded frames arrive ({frames})")

    bad = Boothd(binary, settings={"media.outputs": "udp://127.0.0.1:5004"})
    try:
        bad.start(wait_ready=False)
        code = bad.process.wait(timeout=20)
        with open(bad.log_path, errors="replace") as log:
            text = log.read()
        check(code == 78, f"a bad output URL stops boothd with exit 78 ({code})")
        check("unknown scheme udp" in text, "the error names the URL and why")
    finally:
        bad.cleanup()
    if failures:
        print(f"stream outputs: FAILED: {failures}")
        sys.exit(1)
    print("stream outputs: passed")


if __name__ == "__main__":
    main()
