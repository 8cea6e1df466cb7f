#!/usr/bin/env bash
# Lab guest: boothd discovers a vivid camera and an snd-aloop stethoscope through udev, takes a snapshot and a
# recording, sees both unplugged (vivid disconnect + module removal, snd-aloop removal) and re-plugged, and
# resumes; the Python client (scripts/hwlab/media-hotplug-client.py) checks it and prints the resume times.
# Run by scripts/test.d/56-media-hotplug-lab.sh through scripts/hwlab/run.sh.
set -uo pipefail
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null || true
export GST_REGISTRY=/tmp/gst-registry.bin
timeout 560 .build/venv/bin/python scripts/hwlab/media-hotplug-client.py "$BUILD_DIR/boothd" "$PWD" 2>&1 |
    tee "$HWLAB_OUT/media-hotplug.log"
exit "${PIPESTATUS[0]}"
