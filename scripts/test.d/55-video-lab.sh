#!/usr/bin/env bash
# V4L2 in the virtual hardware lab: boots the lab VM (scripts/hwlab), loads the vivid driver and runs VividLabTests
# (discovery, formats/intervals, controls with real ranges and typed errors, GStreamer v4l2src pipeline with preview,
# snapshot, wedge/stall recovery and unplug fault) against it. ~2 min under TCG. Skips only if qemu cannot run.
set -euo pipefail
. "$(dirname "$0")/../lib/lab-step.sh"
lab_init "video lab"
lab_build tests
lab_require_qemu
LAB_SHOW="^(✔|✘)|video lab:|vivid |hwlab:" LAB_HIDE="vivid formats" \
    LAB_EXPECT="Test run with 4 tests in 1 suite passed" lab_run 200 guest-video-vivid.sh
