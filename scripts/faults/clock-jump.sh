#!/usr/bin/env bash
# Fault: wall clock stepped back 1 h during a session, forward 48 h, back 72 h (outbox's injectable clock):
# order, session binding and the retention purge (Swift test ClockJumpFaultTests, a second).
# In the hwlab VM, `date -s` on the real daemon: see docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --build-tests >/dev/null
timeout 300 swift test --skip-build --filter ClockJumpFaultTests 2>&1 | grep -E "clock-jump fault|passed|failed|error"
