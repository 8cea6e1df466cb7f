# Shared shape of the lab VM test steps (scripts/test.d/55, 56, 57, 60-64, 93) and of the BLE power-cycle fault
# (scripts/faults/ble-power-cycle.sh): build what the guest runs, install the guest client's Python packages, skip
# only when qemu or a guest kernel cannot run here, run one guest script under scripts/hwlab/run.sh with its console
# captured, print the lines that matter, and fail with the log's tail.
# Sourced by a step after `set -euo pipefail`:
#   . "$(dirname "$0")/../lib/lab-step.sh"
#   lab_init "video lab"                  # the name every verdict line starts with; cds to the repo root
#   lab_build boothd boothctl             # products to build if missing ("tests": the test bundle)
#   lab_venv websockets jsonschema        # Python packages of the guest client (.build/venv; its python: $LAB_PYTHON)
#   lab_require_qemu                      # exits 0 (SKIPPED) when the lab cannot run here
#   lab_run 600 guest-media-hotplug.sh    # default HWLAB_TIMEOUT (s) and the guest script (under scripts/hwlab);
#                                         # exits with the verdict (= lab_attempts, then lab_verdict)
# Knobs, set before lab_run: LAB_SHOW (regex of log lines to print; default: ok/FAIL lines, the step's name, hwlab:
# and errors), LAB_HIDE (regex of lines not to print), LAB_LIVE=1 (print the whole console as it runs instead),
# LAB_EXPECT (a line the log must contain to pass), LAB_TAIL (log lines printed on failure, default 40),
# LAB_RETRIES (extra runs after a failure, default 0; each failed run is announced as such, with LAB_RETRY_WHY
# when set: a retry never hides a failure), LAB_STRICT=1 (the lab must run: a failed hwlab setup or a VM that did
# not boot fails the step instead of skipping it), LAB_NICE (run the VM under `nice -n LAB_NICE`). Variables named
# in HWLAB_PASS reach the guest (run.sh).

lab_init() {
    LAB_NAME=$1
    cd "$(dirname "$0")/../.."
    BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
    export BUILD_DIR
}

lab_build() {
    local product
    for product in "$@"; do
        if [ "$product" = tests ]; then
            [ -x "$BUILD_DIR/boothdPackageTests.xctest" ] || swift build --build-tests 2>&1 | tail -1
        else
            [ -x "$BUILD_DIR/$product" ] || swift build --product "$product" 2>&1 | tail -1
        fi
    done
}

lab_venv() {
    local venv=.build/venv modules
    modules=$(IFS=,; echo "$*")
    if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
    "$venv/bin/python" -c "import $modules" 2>/dev/null || "$venv/bin/pip" install -q "$@"
    LAB_PYTHON=$PWD/$venv/bin/python
}

lab_require_qemu() {
    if [ "${LAB_STRICT:-0}" = 1 ]; then
        scripts/hwlab/setup.sh >/dev/null  # fails the step (set -e) with setup's own message
        return
    fi
    if ! scripts/hwlab/setup.sh >/dev/null 2>&1 || ! command -v qemu-system-x86_64 >/dev/null \
        || [ -z "$(ls /boot/vmlinuz-* 2>/dev/null)" ]; then
        echo "$LAB_NAME: SKIPPED: qemu or a guest kernel cannot be installed here (scripts/hwlab/setup.sh failed)"
        exit 0
    fi
}

# Prints the log lines that matter (LAB_SHOW minus LAB_HIDE).
lab_show() {
    local show=${LAB_SHOW:-"^  ok |^ *FAIL|$LAB_NAME|hwlab:|Traceback|Error"}
    [ "${LAB_LIVE:-0}" = 1 ] && return 0  # printed as it ran
    if [ -n "${LAB_HIDE:-}" ]; then
        grep -E "$show" "$1" | grep -vE "$LAB_HIDE" || true
    else
        grep -E "$show" "$1" || true
    fi
}

# Runs the guest script (retried per LAB_RETRIES); sets lab_rc, lab_attempt (failed runs before the last) and
# lab_log (the last run's console, removed on exit).
lab_attempts() {
    local timeout=$1 script=scripts/hwlab/$2 nice=()
    [ -n "${LAB_NICE:-}" ] && nice=(nice -n "$LAB_NICE")
    lab_attempt=0
    lab_log=$(mktemp)
    trap 'rm -f "$lab_log"' EXIT
    while true; do
        set +e
        if [ "${LAB_LIVE:-0}" = 1 ]; then
            HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-$timeout} "${nice[@]}" scripts/hwlab/run.sh "$script" 2>&1 | tee "$lab_log"
            lab_rc=${PIPESTATUS[0]}
        else
            HWLAB_TIMEOUT=${HWLAB_TIMEOUT:-$timeout} "${nice[@]}" scripts/hwlab/run.sh "$script" >"$lab_log" 2>&1
            lab_rc=$?
        fi
        set -e
        # 125 without a booted guest: qemu cannot run here (not a failure of the lab unless LAB_STRICT; no retry).
        if [ "$lab_rc" -eq 0 ] || { [ "$lab_rc" -eq 125 ] && [ "${LAB_STRICT:-0}" != 1 ]; } \
            || [ "$lab_attempt" -ge "${LAB_RETRIES:-0}" ]; then
            break
        fi
        lab_attempt=$((lab_attempt + 1))
        lab_show "$lab_log"
        echo "$LAB_NAME: RUN $lab_attempt FAILED (rc=$lab_rc); retrying ($lab_attempt of ${LAB_RETRIES})${LAB_RETRY_WHY:+: $LAB_RETRY_WHY}"
    done
}

# Prints the verdict of lab_attempts and exits with it.
lab_verdict() {
    lab_show "$lab_log"
    if [ "$lab_rc" -eq 125 ] && [ "${LAB_STRICT:-0}" != 1 ] && ! grep -q "guest up" "$lab_log"; then
        echo "$LAB_NAME: SKIPPED: the VM did not boot (qemu cannot run here); console tail:"
        tail -5 "$lab_log"
        exit 0
    fi
    if [ "$lab_rc" -ne 0 ] || { [ -n "${LAB_EXPECT:-}" ] && ! grep -qF "$LAB_EXPECT" "$lab_log"; }; then
        if [ "${LAB_LIVE:-0}" = 1 ]; then
            echo "$LAB_NAME: FAILED (rc=$lab_rc)"
        else
            echo "$LAB_NAME: FAILED (rc=$lab_rc); log tail:"
            tail -"${LAB_TAIL:-40}" "$lab_log"
        fi
        exit 1
    fi
    if [ "$lab_attempt" -gt 0 ]; then
        echo "$LAB_NAME: passed on run $((lab_attempt + 1)) (after $lab_attempt failed run(s) above)"
    else
        echo "$LAB_NAME: passed"
    fi
    exit 0
}

lab_run() {
    lab_attempts "$@"
    lab_verdict
}
