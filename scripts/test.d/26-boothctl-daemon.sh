#!/usr/bin/env bash
# boothctl as a client of the running boothd (issue 8): status, devices, measure, forget and usage in human and
# JSON forms over the unix socket and TCP; clear errors when boothd is stopped (with the --simulate fallback,
# which runs the simulator in-process) and when the token is not readable; usage statistics from a scripted
# series of 4 sessions with known rates, read over the API and, boothd stopped, from its file. Bounded: ~1 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)}
ctl=$BUILD_DIR/boothctl
bin=$BUILD_DIR/boothd
venv=.build/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import websockets, jsonschema" 2>/dev/null || "$venv/bin/pip" install -q websockets jsonschema
py=$venv/bin/python
work=$(mktemp -d)
chmod 755 "$work"
trap 'if [ "${pid:-0}" != 0 ]; then kill -9 "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
fail() { echo "FAIL: $*"; [ -f "$work/boothd.log" ] && tail -20 "$work/boothd.log"; exit 1; }

# Validates JSON on stdin against one of the server schema's definitions.
validate() {
    "$py" -c '
import json, sys, jsonschema
full = json.load(open("docs/api/server-messages.schema.json"))
schema = {"$ref": "#/$defs/" + sys.argv[1], "$defs": full["$defs"]}
jsonschema.validate(json.load(sys.stdin), schema)' "$1"
}

start_boothd() {
    "$bin" --set api.port=$port --set storage.state_directory="$work/state" --set api.token_group= \
        --set profiles.directories="$PWD/firmware-profiles" --set simulator.interval_seconds=0.3 "$@" \
        >"$work/boothd.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
    fail "boothd did not start"
}
stop_boothd() { kill "$pid"; wait "$pid" || true; pid=0; }

# --- boothd on the simulator, boothctl over the unix socket ------------------------------------------------
sock="$work/boothd.sock"
S=(--set storage.state_directory="$work/state" --set api.unix_socket="$sock" --set api.token_group=)
start_boothd --set simulator.mode=on --set api.unix_socket="$sock"
sleep 2  # the simulated devices connect

timeout 10 "$ctl" status "${S[@]}" >"$work/status.txt" || fail "status exited $?"
grep -q "^boothd .*, up .*, on unix:$sock" "$work/status.txt" || { cat "$work/status.txt"; fail "status header"; }
grep -Eq "^devices +6 \(6 ready\)" "$work/status.txt" || { cat "$work/status.txt"; fail "status devices"; }
timeout 10 "$ctl" status "${S[@]}" --json >"$work/status.json"
validate statusData <"$work/status.json" || fail "status --json does not match statusData"
"$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["devices"]=={"ready":6} and d["storage"]["state"]=="ok" and d["storage"]["depth"]>=1 and d["clients"]==1, d' "$work/status.json"

timeout 10 "$ctl" devices "${S[@]}" >"$work/devices.txt"
head -1 "$work/devices.txt" | grep -q "^ROLE *MODEL *TRANSPORT *ADDRESS *STATE *BATTERY *FIRMWARE *LAST SEEN" \
    || fail "devices header: $(head -1 "$work/devices.txt")"
grep -Eq "^thermometer +Simulated HTS thermometer +simulated +sim:thermometer +ready +92% +sim-1.0 " "$work/devices.txt" \
    || { cat "$work/devices.txt"; fail "devices row"; }
timeout 10 "$ctl" devices "${S[@]}" --json | "$py" -c '
import json,sys; d=json.load(sys.stdin); assert sorted(x["id"] for x in d)==["sim:bp-cuff","sim:camera","sim:ecg","sim:oximeter","sim:stethoscope","sim:thermometer"], d'

# measure: live readings of one device, by role or id; --count ends it, --timeout bounds it.
timeout 20 "$ctl" measure thermometer --count 2 --timeout 15 "${S[@]}" >"$work/measure.txt" 2>"$work/measure.err" \
    || { cat "$work/measure.err"; fail "measure thermometer"; }
[ "$(grep -Ec '^[0-9]{2}:[0-9]{2}:[0-9]{2}  sim:thermometer  bodyTemperature  temp [0-9.]+ Cel$' "$work/measure.txt")" = 2 ] \
    || { cat "$work/measure.txt"; fail "measure output"; }
timeout 20 "$ctl" measure sim:oximeter --count 3 --timeout 15 --json "${S[@]}" 2>/dev/null >"$work/measure.json"
"$py" -c '
import json,sys
lines=open(sys.argv[1]).read().splitlines(); assert len(lines)==3, lines
for l in lines:
    m=json.loads(l); assert m["device"]["id"]=="sim:oximeter" and m["kind"]=="oxygenSaturation", m' "$work/measure.json"
status=0
timeout 10 "$ctl" measure sim:bp-cuff --count 50 --timeout 1 "${S[@]}" >/dev/null 2>"$work/timeout.err" || status=$?
[ $status = 1 ] && grep -q "timed out: [0-9]* of 50 readings" "$work/timeout.err" || fail "measure timeout exit $status"
status=0
timeout 10 "$ctl" measure nosuch --count 1 --timeout 2 "${S[@]}" 2>"$work/nosuch.err" || status=$?
[ $status != 0 ] && grep -q 'no device "nosuch" (known: sim:bp-cuff, sim:camera, sim:ecg, sim:oximeter, sim:stethoscope, sim:thermometer)' "$work/nosuch.err" \
    || fail "measure of an unknown device: $(cat "$work/nosuch.err")"

# usage counts each simulated device's connection (it became ready once since boothd started).
timeout 10 "$ctl" usage "${S[@]}" --format json | "$py" -c '
import json,sys
d=json.load(sys.stdin); c={r["deviceId"]:r["connections"] for r in d["devices"]}
assert all(c.get(i)==1 for i in ["sim:bp-cuff","sim:camera","sim:ecg","sim:oximeter","sim:stethoscope","sim:thermometer"]), c' \
    || fail "usage connections of the simulated devices"

# forget: the device supervisor drops the device; it is gone from the list afterwards.
timeout 10 "$ctl" forget sim:bp-cuff "${S[@]}" >"$work/forget.txt" 2>&1 || fail "forget exited $?: $(cat "$work/forget.txt")"
grep -q "forgot sim:bp-cuff (bp)" "$work/forget.txt" || fail "forget output: $(cat "$work/forget.txt")"

# report: the running daemon's status and device list go into the support archive.
printf 'storage:\n  state_directory: %s\napi:\n  unix_socket: %s\n  token_group: ""\n' "$work/state" "$sock" >"$work/ctl.yaml"
(cd "$work" && timeout 30 "$ctl" report --config "$work/ctl.yaml" -o report.tar.gz >/dev/null)
tar xzf "$work/report.tar.gz" -C "$work"
"$py" -c '
import json,sys
d=json.load(open(sys.argv[1]+"/boothd-report/devices.json")); assert sorted(x["id"] for x in d)==["sim:camera","sim:ecg","sim:oximeter","sim:stethoscope","sim:thermometer"], d  # the cuff was forgotten
s=json.load(open(sys.argv[1]+"/boothd-report/status.json")); assert "sessionId" not in s["session"], s
c={x["name"]:x for x in json.load(open(sys.argv[1]+"/boothd-report/doctor.json"))}; assert c["boothd"]["verdict"]=="PASS", c["boothd"]
' "$work" || fail "report with the daemon running"
stop_boothd

# --- boothd stopped: clear errors, and the in-process simulator ---------------------------------------------
status=0
"$ctl" status "${S[@]}" 2>"$work/err.txt" || status=$?
[ $status = 3 ] && grep -q "boothctl: boothd is not running (no socket at $sock)" "$work/err.txt" \
    || fail "status with boothd stopped: exit $status, $(cat "$work/err.txt")"
status=0
"$ctl" devices "${S[@]}" 2>"$work/err.txt" || status=$?
[ $status = 3 ] && grep -q "devices --simulate" "$work/err.txt" || fail "devices hint: $(cat "$work/err.txt")"
status=0
"$ctl" measure oximeter --count 1 "${S[@]}" 2>"$work/err.txt" || status=$?
[ $status = 3 ] && grep -q "measure --simulate oximeter" "$work/err.txt" || fail "measure hint: $(cat "$work/err.txt")"
timeout 20 "$ctl" devices --simulate "${S[@]}" >"$work/sim.txt"
[ "$(grep -c ' simulated .* ready ' "$work/sim.txt")" = 3 ] || { cat "$work/sim.txt"; fail "devices --simulate"; }
timeout 20 "$ctl" measure --simulate bp --count 1 --timeout 15 "${S[@]}" 2>/dev/null >"$work/sim-bp.txt"
grep -Eq "sim:bp-cuff  bloodPressure  sys [0-9]+ mm\[Hg\]  dia [0-9]+ mm\[Hg\]" "$work/sim-bp.txt" \
    || fail "measure --simulate: $(cat "$work/sim-bp.txt")"

# --- usage statistics: 4 scripted sessions over TCP, no simulator, test.record as the oximeter ---------------
rm -rf "$work/state"
T=(--set storage.state_directory="$work/state" --set api.port=$port --set api.token_group=)
start_boothd --set simulator.mode=off --set api.test_commands=true
timeout 60 "$py" - "$port" "$work/state/api-token" <<'PY'
import asyncio, json, sys, websockets
port, token = sys.argv[1], open(sys.argv[2]).read().strip()
async def main():
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "clientId": "usage-script", "token": token}))
        n = 0
        async def command(name, **params):
            nonlocal n
            n += 1
            await ws.send(json.dumps({"type": "command", "id": f"r{n}", "command": name, "params": params}))
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if m.get("id") == f"r{n}" and m["type"] in ("result", "error"):
                    assert m["type"] == "result", m
                    return m["data"]
        # Four sessions; the oximeter is used in three of them, twice in the first (one retake).
        for index, readings in enumerate([2, 1, 1, 0]):
            sid = f"S{index}"
            await command("session.start", sessionId=sid, contextRef=f"patient-{index}")
            for r in range(readings):
                await command("test.record", measurementId=f"{sid}-m{r}")
            await command("session.end", sessionId=sid)
asyncio.run(main())
PY
check_usage() {
    "$py" -c '
import json,sys
d=json.load(sys.stdin)
ox=[r for r in d["roles"] if r["role"]=="oximeter"][0]
dev=[r for r in d["devices"] if r["deviceId"]=="test:oximeter"][0]
assert d["sessions"]==4, d
for row in (ox, dev):
    assert (row["sessions"],row["sessionsUsed"],row["usageRate"],row["measurements"],row["retakes"],row["failures"])==(4,3,0.75,4,1,0), row
text=json.dumps(d); assert "patient-" not in text and "\"S1\"" not in text, "identifiers in usage"
'
}
for _ in $(seq 50); do
    timeout 10 "$ctl" usage "${T[@]}" --format json >"$work/usage.json" 2>/dev/null
    check_usage <"$work/usage.json" 2>/dev/null && break
    sleep 0.1
done
check_usage <"$work/usage.json" || fail "usage rates: $(cat "$work/usage.json")"
validate usageData <"$work/usage.json" || fail "usage --format json does not match usageData"
today=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["until"])' "$work/usage.json")
timeout 10 "$ctl" usage "${T[@]}" --since "$today" --until "$today" --format csv >"$work/usage.csv"
grep -qx "total,oximeter,,,4,3,0.7500,4,1,0,0,0" "$work/usage.csv" || { cat "$work/usage.csv"; fail "usage csv"; }
grep -qx "$today,oximeter,test:oximeter,test.record,4,3,0.7500,4,1,0,0,0" "$work/usage.csv" \
    || { cat "$work/usage.csv"; fail "usage csv day row"; }
timeout 10 "$ctl" usage "${T[@]}" >"$work/usage.txt"
grep -Eq "^oximeter +test:oximeter +test.record +3/4 +75% +4 +1 +0 +0 +-$" "$work/usage.txt" \
    || { cat "$work/usage.txt"; fail "usage table"; }
status=0
"$ctl" usage "${T[@]}" --since 2026-13-01 2>"$work/err.txt" || status=$?
[ $status = 1 ] && grep -q "invalid_params: since must be a day as YYYY-MM-DD" "$work/err.txt" \
    || fail "usage bad day: $(cat "$work/err.txt")"

# A user outside the token's group gets the fix, not a stack of errors.
if id nobody >/dev/null 2>&1; then
    chmod 750 "$work/state"
    status=0
    runuser -u nobody -- "$ctl" status "${T[@]}" 2>"$work/err.txt" || status=$?
    [ $status = 1 ] && grep -q "permission denied reading the token $work/state/api-token: add yourself to group" \
        "$work/err.txt" || fail "token permission: exit $status, $(cat "$work/err.txt")"
fi
stop_boothd

# boothd stopped: usage is read from the statistics file.
timeout 10 "$ctl" usage "${T[@]}" --format json 2>"$work/err.txt" | check_usage || fail "offline usage"
grep -q "boothd is not running: reading $work/state/usage.sqlite" "$work/err.txt" || fail "offline usage notice"
echo "boothctl daemon client: status, devices, measure, forget, usage (4 sessions, rate 0.75), --simulate, errors OK"
