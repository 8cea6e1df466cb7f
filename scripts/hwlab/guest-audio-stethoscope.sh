#!/usr/bin/env bash
# Lab guest script (run inside the VM by scripts/hwlab/run.sh): the stethoscope against a real ALSA kernel device.
#   scripts/hwlab/run.sh scripts/hwlab/guest-audio-stethoscope.sh [BPM]
# snd-aloop is a loopback sound card: what is played into hw:Loopback,0,0 is captured from hw:Loopback,1,0.
# 1. A synthetic phonocardiogram (S1/S2 bursts at BPM, generated here in Python, independently of the Swift
#    tests' generator) is played into the loopback; boothctl records 10 s from the other side through boothd's
#    pipeline (alsasrc → filters → tee → FLAC + Opus + level) and must recover BPM ± 2 from the envelope.
# 2. While another program holds the capture side, boothctl must fail with "busy" naming the holder.
set -u
out=${HWLAB_OUT:-/tmp/steth-lab}
mkdir -p "$out"
bpm=${1:-72}
boothctl=${BUILD_DIR:?BUILD_DIR must point at the build products}/boothctl
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
up() { cut -d' ' -f1 /proc/uptime; }

echo "[steth] start $(up) s"
modprobe snd-aloop || { echo "FAIL: modprobe snd-aloop"; exit 1; }
cat /proc/asound/cards

python3 - "$bpm" "$out/pcg.wav" <<'PY'
import math, random, struct, sys, wave
bpm, path = float(sys.argv[1]), sys.argv[2]
rate, seconds = 48000, 40.0
# One beat (noise + S1 + S2), repeated: cheap to generate even under TCG.
period = int(round(rate * 60.0 / bpm))
rng = random.Random(7)
beat = [0.005 * (2 * rng.random() - 1) for _ in range(period)]
def burst(start, duration, freq, gain):
    first, length = int(start * rate), int(duration * rate)
    for i in range(min(length, period - first)):
        window = 0.5 - 0.5 * math.cos(2 * math.pi * i / length)
        beat[first + i] += 0.3 * gain * window * math.sin(2 * math.pi * freq * i / rate)
systole = 0.1 + 0.25 * 60.0 / bpm
burst(0.05, 0.09, 45, 1.0)            # S1: lower, longer
burst(0.05 + systole, 0.06, 75, 0.7)  # S2: higher, shorter
frame = b"".join(struct.pack("<h", max(-32767, min(32767, int(s * 32767)))) for s in beat)
with wave.open(path, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(frame * int(math.ceil(seconds * rate / period)))
print(f"[steth] wrote {path}: {seconds} s at {rate} Hz, {bpm} bpm")
PY
# Warm up (GStreamer's plugin registry is built on first use, slow under TCG) so capture starts promptly.
gst-inspect-1.0 alsasrc >/dev/null 2>&1
timeout 60 "$boothctl" stethoscope level --test-tone 100 --seconds 0.2 >/dev/null 2>&1

# Play into the loopback (the playback side fixes the format the capture side must use).
timeout 90 gst-launch-1.0 -q filesrc location="$out/pcg.wav" ! wavparse ! audioconvert \
    ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! alsasink device=hw:Loopback,0,0 >/dev/null 2>&1 &
player=$!
sleep 0.5
echo "[steth] capture $(up) s"
timeout 90 "$boothctl" stethoscope listen --device hw:Loopback,1,0 --rate 48000 --channels 1 --mode bell \
    --seconds 10 -o "$out/lab.flac" --picture "$out/lab.png" --json >"$out/listen.json" 2>"$out/listen.err"
rc=$?
kill "$player" 2>/dev/null
wait "$player" 2>/dev/null
cat "$out/listen.json" "$out/listen.err"
if [ "$rc" -ne 0 ]; then
    fail "boothctl stethoscope listen exited $rc"
else
    python3 - "$bpm" "$out/listen.json" <<'PY' || fail "heart rate / recording check"
import json, sys
bpm, report = float(sys.argv[1]), json.load(open(sys.argv[2]))
print(f"[steth] expected {bpm} bpm, recovered {report.get('heartRate')} (confidence {report.get('heartRateConfidence')}), "
      f"{report['seconds']} s at {report['sampleRate']} Hz")
assert report["sampleRate"] == 48000 and report["channels"] == 1, "format"
assert abs(report["seconds"] - 10) < 1e-6 and not report["truncated"], "duration"
assert report.get("heartRate") is not None and abs(report["heartRate"] - bpm) <= 2, "heart rate"
PY
fi

# Busy device: another program holds the capture side.
echo "[steth] busy check $(up) s"
timeout 30 gst-launch-1.0 -q alsasrc device=hw:Loopback,1,0 ! fakesink >/dev/null 2>&1 &
holder=$!
sleep 2
timeout 30 "$boothctl" stethoscope level --device hw:Loopback,1,0 --seconds 1 >"$out/busy.out" 2>"$out/busy.err"
rc=$?
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
cat "$out/busy.err"
if [ "$rc" -eq 0 ]; then
    fail "boothctl captured from a device another program holds"
elif ! grep -q "busy" "$out/busy.err"; then
    fail "busy device error does not say busy"
elif ! grep -q "gst-launch" "$out/busy.err"; then
    echo "[steth] note: ALSA did not name the holder"
fi

echo "[steth] end $(up) s, $failures failure(s)"
[ "$failures" -eq 0 ]
