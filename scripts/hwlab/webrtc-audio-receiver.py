"""A WebRTC audio receiver with GStreamer's webrtcbin (system python3 + python3-gi), for the stethoscope lab.

Receives boothd's Opus track and decodes it (webrtcbin → rtpopusdepay → opusdec, no processing), measuring the
amplitude of a tone (DFT over whole periods of the last 0.5 s). Signaling through JSON lines:
  stdin:  {"offer": SDP} | {"ice": {"candidate": ..., "sdpMLineIndex": N}}
  stdout: {"ready": true} (once) | {"answer": SDP} | {"ice": {...}} | {"stats": {"packetsReceived": decoded frames, "samples": N,
          "tone": amplitude or null, "peak": ..., "connection": state}} every 0.5 s

Usage: /usr/bin/python3 webrtc-audio-receiver.py [FREQUENCY_HZ]
"""

import json
import math
import os
import struct
import sys
import threading
import time

def note(text):
    sys.stderr.write(f"[receiver {float(open('/proc/uptime').read().split()[0]):.1f} s] {text}\n")
    sys.stderr.flush()


note(f"python {sys.version.split()[0]} started (pid {os.getpid()})")
import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

FREQUENCY = float(sys.argv[1]) if len(sys.argv) > 1 else 100.0
RATE = 48000
WINDOW = RATE // 2  # 0.5 s: a whole number of periods of 100 Hz
COS = [math.cos(2 * math.pi * FREQUENCY * n / RATE) for n in range(WINDOW)]
SIN = [math.sin(2 * math.pi * FREQUENCY * n / RATE) for n in range(WINDOW)]

Gst.init(None)
note(f"{Gst.version_string()} initialised")
lock = threading.Lock()
state = {"packetsReceived": 0, "samples": 0, "tone": None, "peak": 0.0, "connection": "new"}
window = []


def emit(message):
    with lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


pipeline = Gst.Pipeline.new("receiver")
webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
# The lab guest has only the loopback interface, as boothd (media.loopback_only) gathers on.
# Kept referenced for the whole run: PyGObject drops one reference too many when this wrapper is collected.
ICE_AGENT = webrtc.get_property("ice-agent")
ICE_AGENT.emit("add-local-ip-address", "127.0.0.1")
pipeline.add(webrtc)


def on_sample(sink):
    sample = sink.emit("pull-sample")
    buffer = sample.get_buffer()
    ok, info = buffer.map(Gst.MapFlags.READ)
    data = bytes(info.data) if ok else b""
    buffer.unmap(info)
    samples = struct.unpack(f"<{len(data) // 4}f", data)
    window.extend(samples)
    tone = None
    if len(window) >= WINDOW:
        segment = window[:WINDOW]
        del window[:]
        re = sum(x * c for x, c in zip(segment, COS))
        im = sum(x * s for x, s in zip(segment, SIN))
        tone = 2 * math.hypot(re, im) / WINDOW
        peak = max(abs(x) for x in segment)
    with lock:
        state["packetsReceived"] += 1
        state["samples"] += len(samples)
        if tone is not None:
            state["tone"] = tone
            state["peak"] = peak
    return Gst.FlowReturn.OK


def on_pad_added(_, pad):
    if pad.direction != Gst.PadDirection.SRC:
        return
    decoder = Gst.parse_bin_from_description(
        "rtpopusdepay ! opusdec ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=48000,channels=1 "
        "! appsink name=pcm emit-signals=true sync=false", True)
    pipeline.add(decoder)
    decoder.sync_state_with_parent()
    decoder.get_by_name("pcm").connect("new-sample", on_sample)
    pad.link(decoder.get_static_pad("sink"))


def on_candidate(_, mline, candidate):
    emit({"ice": {"candidate": candidate, "sdpMLineIndex": mline}})


def on_connection(element, _):
    state["connection"] = element.get_property("connection-state").value_nick


webrtc.connect("pad-added", on_pad_added)
webrtc.connect("on-ice-candidate", on_candidate)
webrtc.connect("notify::connection-state", on_connection)
pipeline.set_state(Gst.State.PLAYING)


def answer_created(promise, _):
    reply = promise.get_reply()
    answer = reply.get_value("answer") if reply is not None and reply.has_field("answer") else None
    if answer is None:
        sys.stderr.write(f"receiver: no answer: {reply.to_string() if reply is not None else 'no reply'}\n")
        return
    webrtc.emit("set-local-description", answer, Gst.Promise.new())
    emit({"answer": answer.sdp.as_text()})


def offer_set(promise, _):
    reply = promise.get_reply()
    if reply is not None and reply.has_field("error"):
        sys.stderr.write(f"receiver: offer not applied: {reply.to_string()}\n")
    webrtc.emit("create-answer", None, Gst.Promise.new_with_change_func(answer_created, None))


def handle(line):
    message = json.loads(line)
    if "offer" in message:
        _, sdp = GstSdp.SDPMessage.new()
        GstSdp.sdp_message_parse_buffer(message["offer"].encode(), sdp)
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, sdp)
        webrtc.emit("set-remote-description", offer, Gst.Promise.new_with_change_func(offer_set, None))
    elif "ice" in message:
        webrtc.emit("add-ice-candidate", message["ice"]["sdpMLineIndex"], message["ice"]["candidate"])
    return False


def read_stdin():
    for line in sys.stdin:
        if line.strip():
            GLib.idle_add(handle, line)
    GLib.idle_add(loop.quit)


def report():
    while True:
        time.sleep(0.5)
        with lock:
            snapshot = dict(state)
        emit({"stats": snapshot})


loop = GLib.MainLoop()
note("pipeline playing")
emit({"ready": True})
threading.Thread(target=read_stdin, daemon=True).start()
threading.Thread(target=report, daemon=True).start()
loop.run()
pipeline.set_state(Gst.State.NULL)
