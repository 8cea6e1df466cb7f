#!/usr/bin/env bash
# Soak, CI length: a compressed 24 h booth day on the simulator in 2 minutes (sessions, assign/discard, acks,
# retention purge): RSS and fds flat after warm-up, outbox drained, no error logs. Longer: scripts/soak/run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)} scripts/soak/run.sh --minutes "${SOAK_MINUTES:-2}"
