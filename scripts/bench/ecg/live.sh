#!/usr/bin/env bash
# ECG live path on boothd's simulator: notification → WebSocket latency of waveform chunks, and strip on command →
# artifact event. Usage: scripts/bench/ecg/live.sh [SECONDS=20] [CLIENTS=1]   (BUILD_DIR=… to pick a build;
# `scripts/release-build --product boothd` and BUILD_DIR=$(scripts/release-build --show-bin-path) for release)
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
[ -x "$BUILD_DIR/boothd" ] || swift build --product boothd >&2
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
echo "machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%dT%H:%M:%SZ), boothd $BUILD_DIR/boothd"
timeout 300 "$venv/bin/python" scripts/bench/ecg/live.py "$BUILD_DIR/boothd" "$PWD" "${1:-20}" "${2:-1}"
