#!/usr/bin/env bash
# Video benchmark: boothd's camera pipeline vs gst-launch-1.0 running the same graph, in one run (release build).
#   scripts/bench/video/run.sh [--frames N] [--rounds R]     (defaults: 300 frames of 1280x720@30, 2 rounds, ~1.5 min)
set -euo pipefail
cd "$(dirname "$0")/../../.."
scripts/release-build --product booth-video-bench 2>&1 | grep -vE "prohibited flag|^warning: 'boothd'" | tail -3
exec timeout 600 "$(scripts/release-build --show-bin-path)/booth-video-bench" "$@"
