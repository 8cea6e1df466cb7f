#!/usr/bin/env bash
# boothd under the shipped systemd unit in the lab VM (systemd as PID 1 of a PID namespace in the guest): the
# sandboxed unit starts, Type=notify READY=1 makes it active, watchdog pings arrive (scripts/hwlab/guest-systemd-unit.sh).
# ~1.5 min under TCG.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x scripts/hwlab/run.sh ]; then
    echo "SKIP: scripts/hwlab/run.sh (the lab runner) is not in this tree"
    exit 0
fi
export BUILD_DIR="${BUILD_DIR:-$(swift build --show-bin-path)}"
export HWLAB_EXTRA_PACKAGES="${HWLAB_EXTRA_PACKAGES:-} systemd util-linux"
HWLAB_TIMEOUT=300 scripts/hwlab/run.sh scripts/hwlab/guest-systemd-unit.sh
