#!/usr/bin/env bash
# Stethoscope audio branch benchmark: CPU of the whole capture process (capture, filters, level meters, FLAC-ready
# PCM tap, Opus encode), live Opus bitrate against its target, capture-to-encoded latency, and what the audio
# leaves of the site's 1 Mbit/s budget for video. Source: a live audiotestsrc (no sound card needed).
#   scripts/bench/audio/run.sh [SECONDS]        (default 10 s per case; BUILD_DIR selects the build, default debug)
# Note: audiotestsrc timestamps a buffer at its start and pushes it at once, so the latency excludes the
# capture period; with alsasrc add one ALSA period (10 ms, the pipeline's latency-time).
set -euo pipefail
cd "$(dirname "$0")/../../.."
seconds=${1:-10}
if [ -z "${BUILD_DIR:-}" ]; then
    swift build --product boothctl >/dev/null
    BUILD_DIR=$(swift build --show-bin-path)
fi
echo "stethoscope audio bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), build $BUILD_DIR"
for rate in 48000 16000; do
    for bitrate in 64000 32000; do
        echo "== device rate $rate Hz, Opus $bitrate bit/s, bell mode, ${seconds} s"
        timeout $((seconds + 30)) "$BUILD_DIR/boothctl" stethoscope bench --test-tone 100 --rate "$rate" --channels 1 \
            --bitrate "$bitrate" --seconds "$seconds"
    done
done
