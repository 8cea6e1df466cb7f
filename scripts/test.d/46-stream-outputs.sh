#!/usr/bin/env bash
# boothd's media.outputs (RTP over UDP, SRT listener) received and decoded by gst-launch-1.0 on loopback.
# Bounded to 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
timeout 120 python3 scripts/test.d/46-stream-outputs.py "$BUILD_DIR/boothd"
