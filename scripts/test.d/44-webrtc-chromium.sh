#!/usr/bin/env bash
# Live WebRTC from boothd (simulator camera + simulated stethoscope tone) received by headless Chromium on loopback:
# frames decode at the camera's size and rate, the 100 Hz tone arrives at > -3 dB, audio + video stay in budget.
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
timeout 180 "$venv/bin/python" scripts/test.d/44-webrtc-chromium.py "$BUILD_DIR/boothd" "$PWD" "$chromium" "$@"
