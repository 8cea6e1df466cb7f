#!/usr/bin/env bash
# udev discovery and hotplug of cameras and stethoscopes in the virtual hardware lab: boothd on vivid and
# snd-aloop, snapshot + recording, unplug → gone, re-plug → ready again (resume times printed). ~3 min under TCG.
# Skips only if qemu cannot run.
set -euo pipefail
. "$(dirname "$0")/../lib/lab-step.sh"
lab_init "media hotplug lab"
lab_build boothd
lab_venv websockets jsonschema
lab_require_qemu
# One loud retry: the stethoscope re-plug once stayed `gone` for 60 s (1 run in 3 on 2026-11-26, not yet
# explained: suspected race between the capture owner's teardown on `remove` and the `add` that follows).
LAB_RETRIES=1 lab_run 600 guest-media-hotplug.sh
