#!/usr/bin/env bash
# Disk full while boothd runs: its state directory on a small tmpfs is filled; clients must be told (storage
# event, typed disk_full errors), boothd must keep running, and readings taken meanwhile must arrive exactly once
# after space is freed. Needs root for the tmpfs mount (CI runs as root). Bounded to 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
    echo "42-api-disk-full: skipped (mounting a tmpfs needs root; CI runs as root)"
    exit 0
fi
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
state=$(mktemp -d /tmp/boothd-diskfull-XXXXXX)
cleanup() {
    umount "$state" 2>/dev/null || umount -l "$state" 2>/dev/null || true
    rmdir "$state" 2>/dev/null || true
}
trap cleanup EXIT
mount -t tmpfs -o size=6m,mode=0700 tmpfs "$state"
timeout 120 "$venv/bin/python" scripts/test.d/42-api-disk-full.py "$BUILD_DIR/boothd" "$PWD" "$state"
