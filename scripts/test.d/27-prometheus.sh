#!/usr/bin/env bash
# A real Prometheus (Debian package) scrapes boothd on the simulator over loopback: `up == 1` and boothd's gauges
# and counters read back through Prometheus's HTTP API, the alert rules load; promtool checks and unit-tests the
# rules of docs/prometheus. Random ports, a temporary TSDB, bounded to ~1 minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null
fi
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; tail -5 "$work/prometheus.log" "$work/boothd.log" 2>/dev/null || true; exit 1; }

(cd docs/prometheus && promtool check rules boothd-rules.yml >/dev/null && promtool test rules boothd-rules.test.yml >/dev/null) \
    || fail "promtool rules"

port=$((20000 + RANDOM % 20000))
pport=$((port + 1))
"$BUILD_DIR/boothd" --set api.port=$port --set storage.state_directory="$work/state" --set simulator.mode=on \
    --set profiles.directories="$PWD/firmware-profiles" --set simulator.interval_seconds=0.3 >"$work/boothd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

cp docs/prometheus/boothd-rules.yml "$work/"
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - boothd-rules.yml
scrape_configs:
  - job_name: boothd
    static_configs:
      - targets: ["127.0.0.1:$port"]
YAML
promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
pids+=($!)

# value QUERY: the first sample's value of an instant query, or "none".
value() {
    { curl -fsS "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" 2>/dev/null || true; } | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "none")
except Exception:
    print("none")'
}
wait_for() {  # wait_for QUERY EXPECTED
    local v=none
    for _ in $(seq 60); do
        v=$(value "$1")
        [ "$v" = "$2" ] && return 0
        sleep 0.5
    done
    fail "$1 = $v, expected $2"
}
wait_for 'up{job="boothd"}' 1
wait_for 'boothd_devices{state="ready"}' 6  # 3 BLE simulators, ECG strap, camera, stethoscope
wait_for 'boothd_devices_ready{role="thermometer"}' 1
wait_for 'boothd_outbox_storage{state="ok"}' 1
wait_for 'sum(boothd_measurements_total{role="oximeter"}) > bool 0' 1
wait_for 'boothd_outbox_depth > bool 0' 1
# The camera runs on demand: idle, it streams nothing; a preview client starts it (15 fps), and it stops again
# after media.camera_idle_seconds once the client is gone.
wait_for 'boothd_camera_live_fps' 0
timeout 20 curl -s -o /dev/null "http://127.0.0.1:$port/camera/preview.mjpg?token=$(cat "$work/state/api-token")" &
pids+=($!)
wait_for 'boothd_camera_live_fps > bool 10' 1  # the simulated camera runs at 15 fps
rules=$(curl -fsS "http://127.0.0.1:$pport/api/v1/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
print(sum(1 for g in groups for r in g["rules"] if r.get("health") in ("ok", "unknown")))')
[ "$rules" = 5 ] || fail "Prometheus loaded $rules healthy alert rules, expected 5"
echo "prometheus: scraped boothd (up=1, 6 devices ready, outbox depth > 0), 5 alert rules loaded and unit-tested"
