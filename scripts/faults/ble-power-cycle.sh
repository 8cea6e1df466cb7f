#!/usr/bin/env bash
# Fault (#9): a BLE device power-cycled BLE_CYCLES times (default 500) against real bluetoothd in the lab VM,
# boothd reconnecting and delivering a fresh reading each time; boothd's fds, RSS, threads, D-Bus match rules
# (dbus-daemon's count) and BLE gauges (GDBus signal subscriptions, notification streams, event listeners) sampled
# every BLE_SAMPLE_EVERY cycles, growth per 100 cycles and a verdict printed, JSON in .build/faults-results/.
#   scripts/faults/ble-power-cycle.sh            # 500 cycles (1.7-3.2 s a cycle under TCG: docs/reliability.md)
#   BLE_CYCLES=20 scripts/faults/ble-power-cycle.sh
# Environment: BLE_CYCLES, BLE_SAMPLE_EVERY (25), BLE_SOAK_SECONDS (stop cycling after this long, report the
# cycles reached), BLE_SOAK_DEVICE (plx|hts), BLE_OFF_S (device off time, 0.5), BLE_SOAK_SETTINGS (extra
# boothd --set pairs, comma-separated; the default shortens the reconnect pauses, empty keeps boothd's defaults),
# BUILD_DIR (default the debug build). The VM runs under `nice -n 5`.
# The guest side is scripts/hwlab/ble/power-cycle-lab.sh + ble_power_cycles.py (the lab stack of step 64).
set -euo pipefail
. "$(dirname "$0")/../lib/lab-step.sh"
lab_init "ble power cycles"
lab_build boothd
lab_venv websockets
BLE_PYTHON=$LAB_PYTHON
BLE_CYCLES=${BLE_CYCLES:-500}
BLE_SAMPLE_EVERY=${BLE_SAMPLE_EVERY:-25}
BLE_SOAK_SECONDS=${BLE_SOAK_SECONDS:-0}
BLE_OFF_S=${BLE_OFF_S:-0.5}
# For the soak only: boothd's reconnect pauses shortened (defaults 1 s and 5 s, which a booth never notices but
# which would dominate back-to-back power cycles).
BLE_SOAK_SETTINGS=${BLE_SOAK_SETTINGS-ble.reconnect_delay_seconds=0.2,ble.driver_restart_max_seconds=0.5}
# Guest budget: the time limit if one is given, else ~8 s a cycle; plus start-up and the final samples.
if [ "${BLE_SOAK_SECONDS%.*}" -gt 0 ]; then cycling=${BLE_SOAK_SECONDS%.*}; else cycling=$((BLE_CYCLES * 8)); fi
BLE_SOAK_TIMEOUT=$((cycling + 240))
export BLE_PYTHON BLE_CYCLES BLE_SAMPLE_EVERY BLE_SOAK_SECONDS BLE_SOAK_TIMEOUT BLE_OFF_S BLE_SOAK_SETTINGS
pass="BLE_PYTHON BLE_CYCLES BLE_SAMPLE_EVERY BLE_SOAK_SECONDS BLE_SOAK_TIMEOUT BLE_SOAK_DEVICE BLE_OFF_S"
pass="$pass BLE_SOAK_SETTINGS BLE_CYCLE_TIMEOUT BLE_WARMUP_CYCLES"
LAB_STRICT=1 lab_require_qemu
results=.build/faults-results
mkdir -p "$results"
# No retry: a failed soak is the figure. The console is printed as it runs (500 cycles take 15-30 min).
HWLAB_PASS="$pass" LAB_STRICT=1 LAB_LIVE=1 LAB_NICE=${BLE_NICE:-5} lab_attempts $((BLE_SOAK_TIMEOUT + 120)) \
    ble/power-cycle-lab.sh
run=$(sed -n 's/.*run directory \(.*\)$/\1/p' "$lab_log" | tail -1)
if [ -n "$run" ] && [ -s "$run/out/ble-power-cycles.json" ]; then
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    "$LAB_PYTHON" - "$run/out/ble-power-cycles.json" "$results/ble-power-cycles-$stamp.json" "$lab_rc" <<'PY'
import json, os, subprocess, sys
source, target, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
result = json.load(open(source))
result["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
result["machine"] = {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}
result["exit"] = rc
json.dump(result, open(target, "w"), indent=1)
print(f"ble power cycles: result {target}")
PY
fi
LAB_STRICT=1 LAB_LIVE=1 lab_verdict
