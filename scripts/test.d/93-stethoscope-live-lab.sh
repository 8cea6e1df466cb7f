#!/usr/bin/env bash
# A real ALSA stethoscope live over WebRTC in the virtual hardware lab: snd-aloop fed with a 100 Hz tone, boothd
# discovers its capture side through udev and streams it; a GStreamer webrtcbin receiver in the VM decodes it at
# > -3 dB (RECEIVER=chromium: headless Chromium instead, too slow under TCG to answer within boothd's signaling
# timeouts); a recording and the level meter share the live capture; clipping reaches a WebSocket client and
# clears; unplug and re-plug during live audio. About 4 min under TCG; bounded at 12 min.
# Skips only if qemu cannot run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
export BUILD_DIR
[ -x "$BUILD_DIR/boothd" ] || swift build --product boothd 2>&1 | tail -1
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
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets" 2>/dev/null || "$venv/bin/pip" install -q websockets
if ! scripts/hwlab/setup.sh >/dev/null 2>&1 || ! command -v qemu-system-x86_64 >/dev/null \
    || [ -z "$(ls /boot/vmlinuz-* 2>/dev/null)" ]; then
    echo "stethoscope live lab: SKIPPED: qemu or a guest kernel cannot be installed here"
    exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
export RECEIVER=${RECEIVER:-gstreamer}
HWLAB_PASS="STETH_CHROMIUM RECEIVER" HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-720} \
    scripts/hwlab/run.sh scripts/hwlab/guest-stethoscope-live.sh >"$log" 2>&1
rc=$?
set -e
grep -E "^  ok |^  FAIL|stethoscope live lab|hwlab:|Traceback|Error" "$log" || true
if [ "$rc" -eq 125 ] && ! grep -q "guest up" "$log"; then
    echo "stethoscope live lab: SKIPPED: the VM did not boot; console tail:"
    tail -5 "$log"
    exit 0
fi
if [ "$rc" -ne 0 ]; then
    echo "stethoscope live lab: FAILED (rc=$rc); log tail:"
    tail -60 "$log"
    exit 1
fi
echo "stethoscope live lab: passed"
