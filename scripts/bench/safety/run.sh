#!/usr/bin/env bash
# Readiness check benchmark (issue 11: "fast, say how long"): boothd on the simulator with an inventory of five
# roles (one missing, the simulated camera probed for frames); N readiness commands over the session API.
# Prints the check's own duration and the client round trip (p50/p99/max).
# Usage: scripts/bench/safety/run.sh [debug|release] [runs]
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
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
timeout 300 "$venv/bin/python" scripts/bench/safety/readiness_bench.py "$bin/boothd" "$PWD" "${2:-200}"
