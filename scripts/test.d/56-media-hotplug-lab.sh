#!/usr/bin/env bash
# udev discovery and hotplug of cameras and stethoscopes in the virtual hardware lab: boothd on vivid and
# snd-aloop, snapshot + recording, unplug → gone, re-plug → ready again (resume times printed). ~3 min under TCG.
# Skips only if qemu cannot run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
export BUILD_DIR
[ -x "$BUILD_DIR/boothd" ] || swift build --product boothd 2>&1 | tail -1
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
if ! scripts/hwlab/setup.sh >/dev/null 2>&1 || ! command -v qemu-system-x86_64 >/dev/null \
    || [ -z "$(ls /boot/vmlinuz-* 2>/dev/null)" ]; then
    echo "media hotplug lab: SKIPPED: qemu or a guest kernel cannot be installed here"
    exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-600} scripts/hwlab/run.sh scripts/hwlab/guest-media-hotplug.sh >"$log" 2>&1
rc=$?
# One loud retry: the stethoscope re-plug once stayed `gone` for 60 s (1 run in 3 on 2026-11-26, not yet
# explained: suspected race between the capture owner's teardown on `remove` and the `add` that follows).
if [ "$rc" -ne 0 ] && [ "$rc" -ne 125 ]; then
    grep -E "^  ok |^FAIL|Traceback|Error" "$log" || true
    echo "media hotplug lab: FIRST RUN FAILED (rc=$rc); retrying once"
    HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-600} scripts/hwlab/run.sh scripts/hwlab/guest-media-hotplug.sh >"$log" 2>&1
    rc=$?
fi
set -e
grep -E "^  ok |^FAIL|media hotplug|hwlab:|Traceback|Error" "$log" || true
if [ "$rc" -eq 125 ] && ! grep -q "guest up" "$log"; then
    echo "media hotplug lab: SKIPPED: the VM did not boot; console tail:"
    tail -5 "$log"
    exit 0
fi
if [ "$rc" -ne 0 ]; then
    echo "media hotplug lab: FAILED (rc=$rc); log tail:"
    tail -40 "$log"
    exit 1
fi
echo "media hotplug lab: passed"
