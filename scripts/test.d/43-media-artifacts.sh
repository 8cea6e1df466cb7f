#!/usr/bin/env bash
# Snapshots, camera controls and stethoscope recordings through the session API against the real boothd on its
# simulator: artifact events (schema-validated), bytes over HTTP with the token, kill -9 right after a snapshot.
# Reuses the helpers of 40-api-e2e.py. Bounded to 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
timeout 180 "$venv/bin/python" scripts/test.d/43-media-artifacts.py "$BUILD_DIR/boothd" "$PWD"
