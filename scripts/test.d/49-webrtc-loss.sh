#!/usr/bin/env bash
# Automatic bandwidth measurement: boothd drops 20 % of its video RTP packets before webrtcbin
# (BOOTH_TEST_VIDEO_LOSS), headless Chromium receives and reports the loss over RTCP, and boothd's
# BandwidthMonitor must lower the measured bandwidth and the camera's budget while video keeps decoding.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "chromium is not installed (scripts/bootstrap --test installs it)" >&2
    exit 1
fi
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
timeout 120 "$venv/bin/python" scripts/test.d/44-webrtc-chromium.py "$BUILD_DIR/boothd" "$PWD" "$chromium" \
    --no-signaling --no-audio --pattern snow --loss 0.2 --seconds 12
