#!/usr/bin/env bash
# The sample kiosk page in headless Chromium (Debian package `chromium`) shows vitals from boothd.
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
timeout 120 "$venv/bin/python" scripts/test.d/41-kiosk-chromium.py "$BUILD_DIR/boothd" "$PWD" "$chromium"
