#!/usr/bin/env bash
# Fault, in the lab VM (about 1 min): the real boothd while the guest's wall clock is stepped with `date -s` (back
# 1 h during a session, forward 48 h, back): timers keep running, order and session binding hold, nothing lost.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/faults/clock-jump-vm.sh
