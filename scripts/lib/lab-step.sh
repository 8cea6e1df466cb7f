# Shared shape of the lab VM test steps (scripts/test.d/55, 56, 57, 93): build what the guest runs, install the
# guest client's Python packages, skip only when qemu or a guest kernel cannot run here, run one guest script under
# scripts/hwlab/run.sh with its console captured, print the lines that matter, and fail with the log's tail.
# Sourced by a step after `set -euo pipefail`:
#   . "$(dirname "$0")/../lib/lab-step.sh"
#   lab_init "video lab"                  # the name every verdict line starts with; cds to the repo root
#   lab_build boothd                      # a product to build if missing ("tests": the test bundle)
#   lab_venv websockets jsonschema        # Python packages of the guest client (.build/venv)
#   lab_require_qemu                      # exits 0 (SKIPPED) when the lab cannot run here
#   lab_run 600 guest-media-hotplug.sh    # default HWLAB_TIMEOUT (s) and the guest script; exits with the verdict
# Knobs, set before lab_run: LAB_SHOW (regex of log lines to print; default: ok/FAIL lines, the step's name, hwlab:
# and errors), LAB_HIDE (regex of lines not to print), LAB_EXPECT (a line the log must contain to pass), LAB_TAIL
# (log lines printed on failure, default 40), LAB_RETRIES (extra runs after a failure, default 0; each failed run is
# announced as such: a retry never hides a failure). Variables named in HWLAB_PASS reach the guest (run.sh).

lab_init() {
    LAB_NAME=$1
    cd "$(dirname "$0")/../.."
    BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
    export BUILD_DIR
}

lab_build() {
    if [ "$1" = tests ]; then
        [ -x "$BUILD_DIR/boothdPackageTests.xctest" ] || swift build --build-tests 2>&1 | tail -1
    else
        [ -x "$BUILD_DIR/$1" ] || swift build --product "$1" 2>&1 | tail -1
    fi
}

lab_venv() {
    local venv=.build/venv modules
    modules=$(IFS=,; echo "$*")
    if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
    "$venv/bin/python" -c "import $modules" 2>/dev/null || "$venv/bin/pip" install -q "$@"
}

lab_require_qemu() {
    if ! scripts/hwlab/setup.sh >/dev/null 2>&1 || ! command -v qemu-system-x86_64 >/dev/null \
        || [ -z "$(ls /boot/vmlinuz-* 2>/dev/null)" ]; then
        echo "$LAB_NAME: SKIPPED: qemu or a guest kernel cannot be installed here (scripts/hwlab/setup.sh failed)"
        exit 0
    fi
}

# Prints the log lines that matter (LAB_SHOW minus LAB_HIDE).
lab_show() {
    local show=${LAB_SHOW:-"^  ok |^ *FAIL|$LAB_NAME|hwlab:|Traceback|Error"}
    if [ -n "${LAB_HIDE:-}" ]; then
        grep -E "$show" "$1" | grep -vE "$LAB_HIDE" || true
    else
        grep -E "$show" "$1" || true
    fi
}

lab_run() {
    local timeout=$1 script=scripts/hwlab/$2 attempt=0 rc
    lab_log=$(mktemp)
    trap 'rm -f "$lab_log"' EXIT
    while true; do
        set +e
        HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-$timeout} scripts/hwlab/run.sh "$script" >"$lab_log" 2>&1
        rc=$?
        set -e
        # 125 without a booted guest: qemu cannot run here (not a failure of the lab; no retry either).
        if [ "$rc" -eq 0 ] || [ "$rc" -eq 125 ] || [ "$attempt" -ge "${LAB_RETRIES:-0}" ]; then
            break
        fi
        attempt=$((attempt + 1))
        lab_show "$lab_log"
        echo "$LAB_NAME: RUN $attempt FAILED (rc=$rc); retrying ($attempt of ${LAB_RETRIES})"
    done
    lab_show "$lab_log"
    if [ "$rc" -eq 125 ] && ! grep -q "guest up" "$lab_log"; then
        echo "$LAB_NAME: SKIPPED: the VM did not boot (qemu cannot run here); console tail:"
        tail -5 "$lab_log"
        exit 0
    fi
    if [ "$rc" -ne 0 ] || { [ -n "${LAB_EXPECT:-}" ] && ! grep -qF "$LAB_EXPECT" "$lab_log"; }; then
        echo "$LAB_NAME: FAILED (rc=$rc); log tail:"
        tail -"${LAB_TAIL:-40}" "$lab_log"
        exit 1
    fi
    if [ "$attempt" -gt 0 ]; then
        echo "$LAB_NAME: passed on run $((attempt + 1)) (after $attempt failed run(s) above)"
    else
        echo "$LAB_NAME: passed"
    fi
    exit 0
}
