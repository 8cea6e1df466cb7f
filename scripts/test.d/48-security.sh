#!/usr/bin/env bash
# Security checks (about 10 s): boothd listens on loopback only by default and cannot be reached on the machine's
# other addresses; no patient marker reaches its log even at trace level. Token/origin refusal: 40-api-e2e;
# unit sandboxing: 72-systemd (systemd-analyze security). See docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets" 2>/dev/null || "$venv/bin/pip" install -q websockets
timeout 120 "$venv/bin/python" scripts/security/checks.py "$BUILD_DIR/boothd"
