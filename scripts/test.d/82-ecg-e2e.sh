#!/usr/bin/env bash
# ECG through boothd on the simulator, with a real WebSocket client (Python websockets, every frame schema-validated):
# live waveform chunks (seq contiguous, resume after a reconnect), heart-rate measurements, a strip on command
# announced as an artifact, the PDF fetched with the token and checked with pdfinfo (one A4-landscape page), mean HR
# from the strip's metadata ≈ the simulator's 72 /min. Prints the notification → WebSocket latency. Bounded to 3 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
command -v pdfinfo >/dev/null || { echo "82-ecg-e2e: pdfinfo missing (scripts/bootstrap --test installs poppler-utils)" >&2; exit 1; }
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
timeout 180 "$venv/bin/python" scripts/test.d/82-ecg-e2e.py "$BUILD_DIR/boothd" "$PWD"
