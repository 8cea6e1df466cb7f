#!/usr/bin/env bash
# Session WebSocket API against the real boothd with a real client (Python websockets): auth, origin,
# malformed input, limits, slow-client isolation, replay after kill -9 (20 times). Bounded to 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
timeout 300 "$venv/bin/python" scripts/test.d/40-api-e2e.py "$BUILD_DIR/boothd" "$PWD"
