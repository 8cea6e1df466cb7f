#!/usr/bin/env bash
# ECG benchmark: 0x2A37 and Polar PMD decode throughput, gap assembly, and the time to render a standard strip
# (PDF and PNG) on this machine. Release build; prints figures (add --json for machine-readable output).
# Usage: scripts/bench/ecg/run.sh [--seconds 30] [--renders 5] [--json]
set -euo pipefail
cd "$(dirname "$0")/../../.."
scripts/release-build --product boothctl >&2
bin=$(scripts/release-build --show-bin-path)
echo "machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%dT%H:%M:%SZ)" >&2
timeout 600 "$bin/boothctl" ecg bench "$@"
