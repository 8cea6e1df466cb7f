#!/usr/bin/env bash
# Lab guest: capture → Opus latency of boothd's stethoscope pipeline on a real ALSA device (snd-aloop's capture side
# fed with a 100 Hz tone) and, in the same guest for comparison, on audiotestsrc. Prints boothctl's JSON figures,
# one line each, prefixed "alsa-bench:" / "tone-bench:". Run by scripts/bench/webrtc/run.sh.
set -u
seconds=${1:-10}
boothctl=${BUILD_DIR:?BUILD_DIR must point at the build products}/boothctl
export GST_REGISTRY=/tmp/gst-registry.bin
modprobe snd-aloop || { echo "FAIL: modprobe snd-aloop"; exit 1; }
gst-inspect-1.0 alsasrc >/dev/null 2>&1
timeout 60 "$boothctl" stethoscope level --test-tone 100 --seconds 0.2 >/dev/null 2>&1
timeout $((seconds + 120)) gst-launch-1.0 -q audiotestsrc is-live=true freq=100 volume=0.5 \
    ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! alsasink device=hw:Loopback,0,0 >/dev/null 2>&1 &
player=$!
sleep 1
rc=0
alsa=$(timeout $((seconds + 60)) "$boothctl" stethoscope bench --device hw:Loopback,1,0 --rate 48000 --channels 1 \
    --bitrate 64000 --seconds "$seconds" --json) || rc=1
kill "$player" 2>/dev/null
wait "$player" 2>/dev/null
tone=$(timeout $((seconds + 60)) "$boothctl" stethoscope bench --test-tone 100 --rate 48000 --channels 1 \
    --bitrate 64000 --seconds "$seconds" --json) || rc=1
compact() { python3 -c 'import json, sys; print(json.dumps(json.loads(sys.stdin.read() or "null")))'; }
echo "alsa-bench: $(printf '%s' "$alsa" | compact)"
echo "tone-bench: $(printf '%s' "$tone" | compact)"
exit $rc
