#!/usr/bin/env bash
# Fault: 3 simulated devices power-cycled 500 times each through DeviceSupervisor, in-process; prints fds,
# threads, RSS before/after and live links/streams/tasks (Swift test PowerCycleFaultTests, about 10 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --build-tests >/dev/null
BOOTH_FAULT_ALONE=1 timeout 300 swift test --skip-build --filter PowerCycleFaultTests 2>&1 | grep -E "power-cycle fault|passed|failed|error"
