#!/usr/bin/env bash
# Consultation safety (issue 11) against the real boothd with a real client (Python websockets): readiness,
# multi-user cuff slot, binding reasons, manual entry, assign/discard, kill -9 during assignments (12 times).
# Bounded to 4 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
timeout 240 "$venv/bin/python" scripts/test.d/43-safety-e2e.py "$BUILD_DIR/boothd" "$PWD"
