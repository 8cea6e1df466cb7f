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
lab_run 600 guest-media-hotplug.sh
