#!/usr/bin/env bash
# Session API benchmark: notify-to-client latency (p50/p99/max) with durable writes, and sustained
# measurements/s with 10 clients. Usage: scripts/bench/api/run.sh [debug|release] [samples] [rate/s] [burst]
set -euo pipefail
cd "$(dirname "$0")/../../.."
configuration=${1:-release}
# Release through scripts/release-build (static Swift runtime, as shipped); debug as the tests build it.
build=(swift build -c debug)
if [ "$configuration" = release ]; then build=(scripts/release-build); fi
"${build[@]}" --product boothd >/dev/null
bin=$("${build[@]}" --show-bin-path)
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets" 2>/dev/null || "$venv/bin/pip" install -q websockets
timeout 600 "$venv/bin/python" scripts/bench/api/notify_bench.py "$bin/boothd" "${2:-2000}" "${3:-100}" "${4:-5000}"
