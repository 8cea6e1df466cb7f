#!/usr/bin/env bash
# Fault suite, fast part (about a minute): outbox.sqlite corrupted while stopped and while running; SIGHUP every
# 50 ms under load. The in-process faults (500 power cycles, clock jumps) are Swift tests run by `swift test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)} timeout 300 scripts/faults/all.sh
