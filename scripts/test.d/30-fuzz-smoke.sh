#!/usr/bin/env bash
# 30 seconds of libFuzzer over every BoothCore decoder and the stream framer (the long run is scripts/fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
timeout 600 scripts/fuzz/run.sh 30
