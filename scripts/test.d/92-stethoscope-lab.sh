#!/usr/bin/env bash
# Stethoscope in the virtual hardware lab: a synthetic phonocardiogram through snd-aloop (a real ALSA kernel
# device) captured by boothctl with boothd's pipeline; the heart rate must be recovered; a busy device must be
# reported as busy. About 1 min (VM boot ~10 s + 10 s recording under TCG); bounded at 4 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${BUILD_DIR:-}" ]; then
    swift build --product boothctl
    BUILD_DIR=$(swift build --show-bin-path)
fi
export BUILD_DIR
HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-240} scripts/hwlab/run.sh scripts/hwlab/guest-audio-stethoscope.sh 72
