#!/usr/bin/env bash
# Mutation-fuzz the firmware-profile parser and the session-API message parser (they depend on Yams and
# Foundation's JSON, so they are not in the libFuzzer harness of run.sh).
#   scripts/fuzz/parsers.sh [iterations-per-parser] [seed]     (default 200000, seed 20261126)
# A failing input is reported with its seed and index; rerun with the same seed to replay it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export BOOTH_FUZZ_ITERATIONS=${1:-200000}
export BOOTH_FUZZ_SEED=${2:-20261126}
swift build --build-tests >/dev/null
start=$(date +%s)
log=.build/fuzz-parsers.log
status=0
swift test --skip-build --filter 'ProfileParserFuzzTests|WireParserFuzzTests' >"$log" 2>&1 || status=$?
grep -E '✔|✘|error|failed' "$log" || true
echo "fuzz parsers: ${BOOTH_FUZZ_ITERATIONS} inputs per parser, seed ${BOOTH_FUZZ_SEED}, $(( $(date +%s) - start )) s"
exit "$status"
