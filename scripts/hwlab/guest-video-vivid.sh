#!/usr/bin/env bash
# Lab guest: a vivid V4L2 capture device, then the VividLabTests (BoothV4L2Tests) against it.
# Run by scripts/test.d/55-video-lab.sh through scripts/hwlab/run.sh; $BUILD_DIR holds the built test bundle.
set -uo pipefail
up() { cut -d' ' -f1 /proc/uptime; }
modprobe vivid n_devs=1 node_types=0x1 input_types=0x00 || { echo "video lab: modprobe vivid failed"; exit 1; }
node=""
for dev in /sys/class/video4linux/video*; do
    [ "$(cat "$dev/name" 2>/dev/null)" = "vivid-000-vid-cap" ] && node=/dev/$(basename "$dev")
done
[ -n "$node" ] || { echo "video lab: no vivid capture node"; ls /sys/class/video4linux; exit 1; }
echo "video lab: vivid capture at $node (uptime $(up) s)"
export BOOTH_LAB_VIVID=$node
# Debug builds of GStreamer registry: keep its cache in the guest's tmpfs.
export GST_REGISTRY=/tmp/gst-registry.bin
timeout 240 "$BUILD_DIR/boothdPackageTests.xctest" --testing-library swift-testing --filter VividLabTests 2>&1 |
    tee "$HWLAB_OUT/vivid-tests.log"
rc=${PIPESTATUS[0]}
echo "video lab: tests exited $rc (uptime $(up) s)"
exit "$rc"
