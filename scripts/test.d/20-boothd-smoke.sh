#!/usr/bin/env bash
# boothd as a user and systemd see it: starts on the simulator, says READY=1 over a real NOTIFY_SOCKET,
# stores simulated measurements in its outbox, stops on SIGTERM within 1 s with status 0, and refuses a bad
# configuration with one line and exit status 78.
set -euo pipefail
bin=${BUILD_DIR:?}/boothd
work=$(mktemp -d)
trap 'kill -9 ${pid:-0} ${listener:-0} 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))

# A notify socket like systemd's: record every datagram.
python3 - "$work/notify.sock" "$work/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a") as log:
    try:
        while True:
            log.write(s.recv(4096).decode() + "\n---\n")
            log.flush()
    except socket.timeout:
        pass
PY
listener=$!
for _ in $(seq 50); do [ -S "$work/notify.sock" ] && break; sleep 0.1; done

NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=2000000 "$bin" \
    --set api.port=$port --set storage.state_directory="$work/state" --set simulator.mode=on \
    --set profiles.directories="$PWD/firmware-profiles" \
    --set simulator.interval_seconds=0.3 >"$work/boothd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "READY=1" "$work/notify.log" 2>/dev/null && break; sleep 0.1; done
grep -q "READY=1" "$work/notify.log" || { cat "$work/boothd.log"; echo "FAIL: no READY=1"; exit 1; }
grep -q "MAINPID=$pid" "$work/notify.log" || { echo "FAIL: READY without MAINPID=$pid"; exit 1; }
curl -fsS "http://127.0.0.1:$port/healthz" | grep -q '"status":"ok"' || { echo "FAIL: healthz"; exit 1; }

# Simulated measurements reach the durable outbox.
count=0
for _ in $(seq 100); do
    count=$(sqlite3 "$work/state/outbox.sqlite" "select count(*) from events where type='measurement'" 2>/dev/null || echo 0)
    [ "$count" -ge 3 ] && break
    sleep 0.1
done
[ "$count" -ge 3 ] || { cat "$work/boothd.log"; echo "FAIL: only $count measurements in the outbox"; exit 1; }
curl -fsS "http://127.0.0.1:$port/metrics" | grep -q '^boothd_measurements_total{device="sim:oximeter"' \
    || { echo "FAIL: /metrics does not count the simulator's measurements"; exit 1; }
sleep 1.2
grep -q "WATCHDOG=1" "$work/notify.log" || { echo "FAIL: no watchdog ping"; exit 1; }
perms=$(stat -c %a "$work/state/outbox.sqlite")
[ "$perms" = 640 ] || { echo "FAIL: outbox readable by others (mode $perms)"; exit 1; }

# The simulated camera's preview: refused without the token, JPEG frames with it.
code=$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/camera/preview.mjpg")
[ "$code" = 401 ] || { echo "FAIL: camera preview without token answered $code"; exit 1; }
timeout 3 curl -s "http://127.0.0.1:$port/camera/preview.mjpg?token=$(cat "$work/state/api-token")" >"$work/preview.mjpg" || true
frames=$(grep -ac "Content-Type: image/jpeg" "$work/preview.mjpg" || true)
[ "$frames" -ge 5 ] || { echo "FAIL: only $frames preview frames in 3 s"; exit 1; }
echo "boothd: simulated camera preview: $frames JPEG frames in 3 s, 401 without token"

# SIGHUP reloads the firmware profiles and keeps serving.
kill -HUP $pid
for _ in $(seq 50); do grep -q "firmware profiles reloaded" "$work/boothd.log" && break; sleep 0.1; done
grep -q "firmware profiles reloaded.*profiles=1[0-9]" "$work/boothd.log" || { cat "$work/boothd.log"; echo "FAIL: no reload on SIGHUP"; exit 1; }

start=$(date +%s%N)
kill -TERM $pid
status=0
wait $pid || status=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $status -eq 0 ] || { cat "$work/boothd.log"; echo "FAIL: exit status $status after SIGTERM"; exit 1; }
[ $elapsed_ms -lt 1000 ] || { echo "FAIL: SIGTERM took ${elapsed_ms} ms"; exit 1; }
grep -q "STOPPING=1" "$work/notify.log" || { echo "FAIL: no STOPPING=1"; exit 1; }
echo "boothd: READY, $count measurements stored, stopped in ${elapsed_ms} ms"

# A bad configuration: one line naming file, line, key and reason; exit status 78.
printf 'api:\n  port: 8787\n  prot: 1\n' >"$work/bad.yaml"
status=0
"$bin" --config "$work/bad.yaml" 2>"$work/err.txt" || status=$?
[ $status -eq 78 ] || { echo "FAIL: bad config exit status $status"; exit 1; }
[ "$(wc -l <"$work/err.txt")" -eq 1 ] || { cat "$work/err.txt"; echo "FAIL: more than one line"; exit 1; }
grep -q "$work/bad.yaml:3: api.prot: unknown key" "$work/err.txt" || { cat "$work/err.txt"; echo "FAIL: message"; exit 1; }
echo "boothd: bad configuration refused: $(cat "$work/err.txt")"

# A broken firmware profile stops boothd at start with its file:line, like a bad configuration.
mkdir -p "$work/profiles"
printf 'id: broken.profile\nname: Broken\nrole: oximeter\ntransport: ble\ndriver: no.such.driver\n' >"$work/profiles/broken.yaml"
status=0
"$bin" --set profiles.directories="$work/profiles" --set api.port=$port --set storage.state_directory="$work/state2" \
    >"$work/broken.log" 2>&1 || status=$?
[ $status -eq 78 ] || { cat "$work/broken.log"; echo "FAIL: broken profile exit status $status"; exit 1; }
grep -Eq "broken.yaml:[0-9]+: " "$work/broken.log" || { cat "$work/broken.log"; echo "FAIL: profile error without file:line"; exit 1; }
echo "boothd: SIGHUP reloads profiles; a broken profile is refused at start with its file:line"
kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
