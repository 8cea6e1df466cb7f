#!/usr/bin/env bash
# `boothctl doctor` against broken setups (issue 8): a missing GStreamer plugin (a plugin path without x264),
# no Bluetooth adapter on a booth whose inventory has Bluetooth devices, an adapter without bluetoothd, and bad
# permissions (a camera node boothd cannot open, a token readable by everyone, a state directory the user cannot
# write). Each gives its FAIL line and the fix, in human and JSON form, and exit status 1. Bounded: seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
ctl=$BUILD_DIR/boothctl
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect FILE LINE: FILE has LINE exactly (a fixed string).
expect() { grep -qxF -- "$2" "$1" || { cat "$1"; fail "missing line: $2"; }; }

# 1. A GStreamer plugin missing: every system plugin but x264, in a fresh registry.
plugins=$(pkg-config --variable=pluginsdir gstreamer-1.0 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/gstreamer-1.0)
mkdir -p "$work/plugins"
for plugin in "$plugins"/*.so; do
    case "$(basename "$plugin")" in libgstx264.so) ;; *) ln -s "$plugin" "$work/plugins/" ;; esac
done
status=0
GST_PLUGIN_SYSTEM_PATH_1_0="$work/plugins" GST_PLUGIN_PATH_1_0="$work/plugins" GST_REGISTRY_1_0="$work/registry.bin" \
    "$ctl" doctor >"$work/gst.txt" || status=$?
[ $status = 1 ] || fail "doctor with a missing plugin exited $status"
expect "$work/gst.txt" "FAIL gstreamer elements: missing: x264enc"
expect "$work/gst.txt" "     → apt-get install gstreamer1.0-plugins-ugly"

# 2. No Bluetooth adapter, and the booth inventory lists Bluetooth devices.
mkdir -p "$work/empty" "$work/state"
cat >"$work/booth.yaml" <<YAML
simulator:
  mode: "off"
booth:
  inventory: [oximeter, thermometer, otoscope]
storage:
  state_directory: $work/state
api:
  token_group: ""
YAML
status=0
"$ctl" doctor --config "$work/booth.yaml" --sysroot "$work/empty" >"$work/bt.txt" || status=$?
[ $status = 1 ] || fail "doctor with no adapter exited $status"
expect "$work/bt.txt" "FAIL bluetooth adapter: no adapter in /sys/class/bluetooth; booth.inventory lists oximeter, thermometer"
expect "$work/bt.txt" "     → plug the USB Bluetooth dongle; check \`rfkill list\`; BLE devices are unavailable until then"

# 3. An adapter, but bluetoothd is not running.
mkdir -p "$work/bt/sys/class/bluetooth/hci0" "$work/bt/proc/1"
echo systemd >"$work/bt/proc/1/comm"
"$ctl" doctor --config "$work/booth.yaml" --sysroot "$work/bt" >"$work/btd.txt" || true
expect "$work/btd.txt" "PASS bluetooth adapter: hci0"
expect "$work/btd.txt" "FAIL bluetoothd: bluetoothd is not running: BLE devices cannot be reached"
expect "$work/btd.txt" "     → systemctl enable --now bluetooth (package bluez)"

# 4. Bad permissions: a camera node only root can open, a token everyone can read.
mkdir -p "$work/perm/dev"
touch "$work/perm/dev/video0"
chmod 600 "$work/perm/dev/video0"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/state/api-token"
chmod 644 "$work/state/api-token"
status=0
"$ctl" doctor --config "$work/booth.yaml" --sysroot "$work/perm" --json >"$work/perm.json" || status=$?
[ $status = 1 ] || fail "doctor with bad permissions exited $status"
python3 - "$work/perm.json" "$work/state/api-token" <<'PY'
import json, sys
checks = {c["name"]: c for c in json.load(open(sys.argv[1]))}
nodes = checks["device permissions"]
assert nodes["verdict"] == "FAIL" and "cannot open /dev/video0 (" in nodes["detail"] and nodes["detail"].endswith(" 0600)"), nodes
assert "udevadm trigger" in nodes["hint"], nodes
token = checks["api token"]
assert token["verdict"] == "FAIL" and token["detail"].startswith(sys.argv[2] + " is readable by every user"), token
assert token["hint"].startswith("chmod 0640 " + sys.argv[2]), token
PY
"$ctl" doctor --config "$work/booth.yaml" --sysroot "$work/perm" >"$work/perm.txt" || true
grep -q "^FAIL device permissions: boothd (groups audio, bluetooth, boothd) cannot open /dev/video0 (.* 0600)$" \
    "$work/perm.txt" || { cat "$work/perm.txt"; fail "device permissions line"; }

# A state directory the user cannot write (the technician ran boothd as another user, or a bad chown).
if id nobody >/dev/null 2>&1; then
    chmod 755 "$work/state" "$work/booth.yaml"
    chmod 600 "$work/state/api-token"
    status=0
    runuser -u nobody -- "$ctl" doctor --config "$work/booth.yaml" --sysroot "$work/empty" >"$work/nobody.txt" \
        || status=$?
    [ $status = 1 ] || fail "doctor as nobody exited $status"
    grep -q "^FAIL storage: $work/state is not writable (root:root 0755): the outbox cannot be stored$" "$work/nobody.txt" \
        || { cat "$work/nobody.txt"; fail "storage line"; }
    expect "$work/nobody.txt" "     → chown -R boothd:boothd $work/state && chmod 0750 $work/state"
fi
echo "doctor: missing plugin, no adapter, no bluetoothd, bad permissions each FAIL with their fix"
