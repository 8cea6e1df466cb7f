#!/usr/bin/env bash
# Fuzz every BoothCore decoder and the stream framer with libFuzzer + AddressSanitizer.
#   scripts/fuzz/run.sh [seconds]     (default 60; 0 = only build and replay the corpus)
# The harness is compiled with swiftc directly (not SwiftPM) so normal builds never link the fuzzer runtime.
# Findings land in .build/fuzz/findings/ (crash-*, with the input); new coverage in .build/fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
out=.build/fuzz
mkdir -p "$out/corpus" "$out/findings"
binary=$out/boothcore-fuzz
sources=$(find Sources/BoothCore -name '*.swift' | sort)
newest=$(ls -t $sources scripts/fuzz/FuzzMain.swift | head -1)
if [ ! -x "$binary" ] || [ "$newest" -nt "$binary" ]; then
    echo "fuzz: building $binary"
    # shellcheck disable=SC2086
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name BoothFuzz \
        -enable-upcoming-feature ExistentialAny \
        $sources scripts/fuzz/FuzzMain.swift -o "$binary" 2>"$out/build.log" || { cat "$out/build.log" >&2; exit 1; }
fi
# The committed seeds first, then whatever coverage earlier runs found.
cp -n scripts/fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
if [ "$seconds" -eq 0 ]; then
    "$binary" -runs=0 scripts/fuzz/corpus
    exit 0
fi
set +e
"$binary" -max_total_time="$seconds" -max_len=512 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/findings/" -print_final_stats=1 "$out/corpus" scripts/fuzz/corpus >"$out/last-run.log" 2>&1
status=$?
set -e
grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|SUMMARY|Test unit written" \
    "$out/last-run.log" || true
if [ "$status" -ne 0 ]; then
    echo "fuzz: FINDING (exit $status), see $out/last-run.log and $out/findings/" >&2
    exit 1
fi
echo "fuzz: no finding in ${seconds}s"
