# Guest script (run by scripts/hwlab/run.sh): boothctl against a simulated BLE medical device through real
# bluetoothd. hci0 = the device (peripheral.py), hci1 = boothd's adapter.
# Checks: scan finds it by service UUID; Just-Works pairing; DIS + battery reads; PLX notifications and HTS
# indications; the device switched off and on (reconnect); bluetoothd restarted (reconnect); no duplicated
# notification after a reconnect; the number of D-Bus signal subscriptions stays constant.
# Needs $BOOTHCTL (the boothctl binary). Exit 0 = all passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${HWLAB_OUT:-/tmp}
boothctl=${BOOTHCTL:-$BUILD_DIR/boothctl}
. "$here/stack.sh"
failures=0
check() { # check DESCRIPTION COMMAND...
    if "${@:2}"; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
wait_for() { # wait_for FILE PATTERN SECONDS
    local deadline=$(($(date +%s) + $3))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.3
    done
}

python3 "$here/peripheral.py" hci0 VLab-Oximeter >"$out/peripheral.log" 2>&1 &
peripheral=$!
wait_for "$out/peripheral.log" 'advertisement registered' 30 || { cat "$out/peripheral.log"; exit 1; }
device=$(cat /sys/kernel/debug/bluetooth/hci0/identity 2>/dev/null | cut -d' ' -f1)
[ -n "$device" ] || device=$(hciconfig hci0 | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
device=$(echo "$device" | tr a-f A-F)
echo "ble lab: device $device advertising at $(ble_uptime) s"

t0=$(ble_uptime)
timeout 60 "$boothctl" scan --adapter hci1 --seconds 40 --until "$device" --json >"$out/scan.log" 2>&1
check "scan finds the oximeter by its PLX service UUID (rc=$?)" grep -q "\"address\":\"$device\".*0x1822" "$out/scan.log"
t1=$(ble_uptime)

timeout 60 "$boothctl" pair "$device" --adapter hci1 --json >"$out/pair.log" 2>&1
check "pair bonds with Just Works (rc=$?)" grep -q '"paired":"true".*"trusted":"true"' "$out/pair.log"

timeout 200 "$boothctl" gatt "$device" --adapter hci1 --json --duration 180 --generations 3 --count 4 \
    --read 2a29 --read 2a24 --read 2a25 --read 2a26 --read 2a19 --subscribe 2a5f --subscribe 2a1c \
    >"$out/gatt.log" 2>&1 &
gatt=$!
t2=$(ble_uptime)
wait_for "$out/gatt.log" '"event":"notification","generation":"1"' 60 && t3=$(ble_uptime)
check "first connection delivers notifications" grep -q '"generation":"1","hex"' "$out/gatt.log"
sleep 2
echo "ble lab: switching the device off and on at $(ble_uptime) s"
kill -USR1 "$peripheral"
wait_for "$out/gatt.log" '"event":"notification","generation":"2"' 90
check "reconnects after the device was switched off and on" grep -q '"generation":"2","hex"' "$out/gatt.log"
sleep 2
echo "ble lab: restarting bluetoothd at $(ble_uptime) s"
ble_stop_bluetoothd
sleep 1
ble_start_bluetoothd
wait $gatt
rc=$?
check "reconnects after bluetoothd restarted; boothctl gatt exits 0 (rc=$rc)" [ "$rc" -eq 0 ]

python3 - "$out/gatt.log" "$out/peripheral.log" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{')]
sent = set(line.split()[-1] for line in open(sys.argv[2]) if ' sent ' in line)
failures = 0
def check(what, ok):
    global failures
    print(('PASS ' if ok else 'FAIL ') + what)
    failures += 0 if ok else 1
reads = {e['uuid']: e for e in events if e['event'] == 'read'}
check('DIS manufacturer read', reads.get('0x2A29', {}).get('text') == 'Booth Lab')
check('DIS model read', reads.get('0x2A24', {}).get('text') == 'VLab-1')
check('DIS serial read', reads.get('0x2A25', {}).get('text') == 'SN-0042')
check('DIS firmware read', reads.get('0x2A26', {}).get('text') == '1.2.3')
check('battery level 87 %', reads.get('0x2A19', {}).get('hex') == '57')
notes = [e for e in events if e['event'] == 'notification']
for generation in ('1', '2', '3'):
    for uuid in ('0x2A5F', '0x2A1C'):
        check(f'connection {generation} got {uuid}', any(n['generation'] == generation and n['uuid'] == uuid for n in notes))
keys = [(n['generation'], n['uuid'], n['hex']) for n in notes]
check(f'no duplicated notification ({len(keys)} received)', len(keys) == len(set(keys)))
check('every received value was sent by the device', all(n['hex'] in sent for n in notes))
def fields(n):
    return dict(part.split('=', 1) for part in n.get('decoded', '').split())
plx = [n for n in notes if n['uuid'] == '0x2A5F']
hts = [n for n in notes if n['uuid'] == '0x2A1C']
# The device sends SpO2 95 + step % 5, pulse 60 + step % 40 (PLX SFLOATs) and 36.5 + (step % 10) / 10 Celsius.
def plx_ok(n):
    f = fields(n)
    step_pulse = int(n['hex'][6:8], 16) | int(n['hex'][8:10], 16) << 8
    return (n.get('kind') == 'oxygenSaturation' and 95 <= float(f['spo2']) <= 99
            and float(f['pulseRate']) == step_pulse and 60 <= step_pulse <= 99)
def hts_ok(n):
    f = fields(n)
    return n.get('kind') == 'bodyTemperature' and f.get('unit') == 'Celsius' and 36.5 <= float(f['temperature']) <= 37.4
check(f'PLX notifications decoded by BoothCore ({len(plx)})', bool(plx) and all(plx_ok(n) for n in plx))
check(f'HTS indications decoded by BoothCore ({len(hts)})', bool(hts) and all(hts_ok(n) for n in hts))
check('no decode errors', not any('decodeError' in n for n in notes))
subs = [e['signalSubscriptions'] for e in events if 'signalSubscriptions' in e]
check(f'D-Bus signal subscriptions constant across reconnects: {subs}', len(subs) >= 4 and set(subs) == {'4'})
streams = [e['notificationStreams'] for e in events if e['event'] == 'subscribed']
check(f'notification streams do not pile up: {streams}', set(streams) <= {'1', '2'})
summary = [e for e in events if e['event'] == 'summary']
check('usage counted: 3 connects', bool(summary) and summary[-1]['connects'] == '3')
sys.exit(1 if failures else 0)
PY
[ $? -eq 0 ] || failures=$((failures + 1))
t4=$(ble_uptime)
echo "ble lab timings (s, guest uptime): scan $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')," \
    "advertising to first notification via gatt $(awk -v a="$t2" -v b="${t3:-$t2}" 'BEGIN{print b-a}')," \
    "whole gatt scenario $(awk -v a="$t2" -v b="$t4" 'BEGIN{print b-a}')"
if [ "$failures" -ne 0 ]; then
    echo "ble lab: $failures check(s) failed; logs:"
    for f in scan pair gatt peripheral; do echo "--- $f.log"; tail -40 "$out/$f.log"; done
    grep -iE 'error|fail' "$out/bluetoothd.log" | tail -20
    exit 1
fi
echo "ble lab: all checks passed"
