# Sourced by the fault scripts: repository root, boothd binary (BUILD_DIR, default the debug build) and the venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [ -z "${BUILD_DIR:-}" ]; then
    swift build --product boothd >/dev/null
    BUILD_DIR=$(swift build --show-bin-path)
fi
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets" 2>/dev/null || "$venv/bin/pip" install -q websockets
python=$venv/bin/python
