#!/usr/bin/env bash
# A real ALSA stethoscope live over WebRTC in the virtual hardware lab: snd-aloop fed with a 100 Hz tone, boothd
# discovers its capture side through udev and streams it; a GStreamer webrtcbin receiver in the VM decodes it at
# > -3 dB (RECEIVER=chromium: headless Chromium instead, too slow under TCG to answer within boothd's signaling
# timeouts); a recording and the level meter share the live capture; clipping reaches a WebSocket client and
# clears; unplug and re-plug during live audio. About 4 min under TCG; bounded at 12 min.
# Skips only if qemu cannot run.
set -euo pipefail
. "$(dirname "$0")/../lib/lab-step.sh"
lab_init "stethoscope live lab"
lab_build boothd
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "chromium is not installed (scripts/bootstrap --test installs it)" >&2
    exit 1
fi
export STETH_CHROMIUM=$chromium
/usr/bin/python3 -c "import gi; gi.require_version('GstWebRTC', '1.0')" 2>/dev/null || {
    echo "python3-gi / gir1.2-gst-plugins-bad-1.0 are not installed (scripts/bootstrap --test installs them)" >&2
    exit 1
}
lab_venv websockets
lab_require_qemu
export RECEIVER=${RECEIVER:-gstreamer}
HWLAB_PASS="STETH_CHROMIUM RECEIVER" LAB_TAIL=60 lab_run 720 guest-stethoscope-live.sh
