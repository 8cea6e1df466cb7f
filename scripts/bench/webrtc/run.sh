#!/usr/bin/env bash
# Live WebRTC benchmark: boothd on its simulator (camera + 100 Hz stethoscope tone) streaming to headless Chromium
# on loopback. Prints, per case: combined audio+video bit rate against the 1 Mbit/s budget (RTP as received by
# Chromium, plus IP/UDP/SRTP per packet), frame rate and size decoded, the tone's level after Opus, boothd's CPU,
# and the audio branch's CPU (video+audio minus video only); then the audio latency pieces.
#   scripts/bench/webrtc/run.sh [SECONDS]     (default 15 s per case; BUILD_DIR selects the build, default debug)
# Latency: capture→Opus packet is measured inside boothd's audio pipeline (boothctl stethoscope bench); the
# receiver's jitter buffer is measured by Chromium (getStats jitterBufferDelay/jitterBufferEmittedCount). The
# loopback network and packetization add well under a millisecond; decode and audio output are not measurable
# headless. Their sum is printed as the capture-to-WebRTC-playout estimate. The ALSA path's capture → Opus latency
# is measured in the lab VM (snd-aloop), since this machine has no sound card.
set -euo pipefail
cd "$(dirname "$0")/../../.."
seconds=${1:-15}
if [ -z "${BUILD_DIR:-}" ]; then
    swift build --product boothd >/dev/null 2>&1
    swift build --product boothctl >/dev/null 2>&1
    BUILD_DIR=$(swift build --show-bin-path)
fi
chromium=$(command -v chromium || command -v chromium-browser)
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
echo "webrtc bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), build $BUILD_DIR, ${seconds} s per case"
run() {
    timeout $((seconds + 90)) "$venv/bin/python" scripts/test.d/44-webrtc-chromium.py "$BUILD_DIR/boothd" "$PWD" \
        "$chromium" --json --no-signaling --seconds "$seconds" "$@" | tail -1
}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for pattern in ball snow; do
    echo "{\"case\":\"$pattern video+audio\",\"figures\":$(run --pattern "$pattern")}" >>"$results"
    echo "{\"case\":\"$pattern video only\",\"figures\":$(run --pattern "$pattern" --no-audio)}" >>"$results"
done
latency=$(timeout 60 "$BUILD_DIR/boothctl" stethoscope bench --test-tone 100 --rate 48000 --channels 1 \
    --bitrate 64000 --seconds 10 | grep 'capture-to-encoded')
# The ALSA path (alsasrc on snd-aloop, in the lab VM: the host has no sound card): capture → Opus latency measured
# the same way, next to audiotestsrc in the same guest. WEBRTC_BENCH_ALSA=0 skips it (about 2 min under TCG).
alsa=""
if [ "${WEBRTC_BENCH_ALSA:-1}" != 0 ] && scripts/hwlab/setup.sh >/dev/null 2>&1; then
    alsa=$(BUILD_DIR=$BUILD_DIR HWLAB_TIMEOUT=300 scripts/hwlab/run.sh scripts/hwlab/guest-stethoscope-bench.sh 10 \
        2>&1 | grep -E '^(alsa|tone)-bench: ' | tr -d '\r' || true)
fi
python3 - "$results" "$latency" "$alsa" <<'PY'
import json, re, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"{'case':22} {'video':>7} {'audio':>7} {'wire':>7} {'budget':>7} {'fps':>5} {'size':>8} {'100Hz':>7} {'conceal':>7} {'boothd CPU':>10}")
by = {}
for row in rows:
    f = row["figures"]; by[row["case"]] = f
    tone = f"{f['tone100HzDb']:+.2f}" if f.get("tone100HzDb") is not None else "-"
    conceal = f"{f['audioConcealedPercent']}%" if f.get("audioConcealedPercent") is not None else "-"
    print(f"{row['case']:22} {f['videoKbps']:>7} {f['audioKbps']:>7} {f['wireKbps']:>7} {f['budgetKbps']:>7} "
          f"{f['decodedFps']:>5} {str(f['frameWidth'])+'x'+str(f['frameHeight']):>8} {tone:>7} {conceal:>7} "
          f"{f['boothdCpuPercent']:>9}%")
print("(kbit/s; video/audio = RTP payload + RTP headers as received; wire adds IP/UDP/SRTP, 38 bytes per packet)")
for pattern in ("ball", "snow"):
    both, video = by[f"{pattern} video+audio"], by[f"{pattern} video only"]
    print(f"audio branch CPU ({pattern}): {both['boothdCpuPercent'] - video['boothdCpuPercent']:+.1f} % of one core "
          f"(boothd video+audio {both['boothdCpuPercent']} % - video only {video['boothdCpuPercent']} %)")
match = re.search(r"p50 ([\d.]+) ms, p95 ([\d.]+) ms", sys.argv[2])
jitter = [by[f"{p} video+audio"]["audioJitterBufferMs"] for p in ("ball", "snow")]
print(f"audio latency: {sys.argv[2].strip()}; Chromium jitter buffer {jitter[0]} / {jitter[1]} ms (ball / snow)")
if match:
    print(f"capture-to-WebRTC-playout estimate: {float(match.group(1)) + min(jitter):.0f} ms (p50 capture-to-encoded + "
          f"receiver jitter buffer; loopback network < 1 ms; decode/output not measurable headless)")
lab = {line.split(":", 1)[0]: json.loads(line.split(":", 1)[1]) for line in sys.argv[3].splitlines()
       if line.split(":", 1)[1].strip().startswith("{")}
for name, label in (("alsa-bench", "ALSA (alsasrc on snd-aloop, 10 ms periods)"), ("tone-bench", "audiotestsrc")):
    if name in lab:
        f = lab[name]
        print(f"lab VM (TCG) capture-to-encoded, {label}: p50 {f['latencyMillisecondsP50']} ms, "
              f"p95 {f['latencyMillisecondsP95']} ms, max {f['latencyMillisecondsMax']} ms, "
              f"CPU {f['cpuPercentOfOneCore']} % of one emulated core")
if not lab:
    print("ALSA path: not measured (WEBRTC_BENCH_ALSA=0, or the lab VM cannot run here)")
PY
