#!/usr/bin/env bash
# Lab guest: boothd captures snd-aloop as a discovered stethoscope and streams it live over WebRTC to a real
# receiver (GStreamer webrtcbin + opusdec, or headless Chromium with RECEIVER=chromium; 100 Hz tone > -3 dB), records and meters it during the live session, reports clipping, and survives an
# unplug/re-plug (scripts/hwlab/stethoscope-live-client.py). Run by scripts/test.d/93-stethoscope-live-lab.sh.
set -uo pipefail
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null || true
export GST_REGISTRY=/tmp/gst-registry.bin HOME=/tmp
timeout 840 .build/venv/bin/python -u scripts/hwlab/stethoscope-live-client.py "$BUILD_DIR/boothd" "$PWD" \
    "${STETH_CHROMIUM:-chromium}" 2>&1 | tee "$HWLAB_OUT/stethoscope-live.log"
exit "${PIPESTATUS[0]}"
