# Guest script (run by scripts/bench/ble/run.sh): BLE latency figures inside the lab.
#  - advertisement to first measurement: boothctl gatt waits (scanning) before the device exists; the device then
#    registers its advertisement; measured to the first decoded PLX notification printed by boothctl.
#  - notification latency: the device's GATT app emits a value (its log time) to boothctl printing it (its "t"),
#    both CLOCK_MONOTONIC; median / p95 / max over the run.
# Under TCG everything is 12-22x slower than on real hardware: read the figures as an upper bound.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${HWLAB_OUT:-/tmp}
boothctl=${BOOTHCTL:-$BUILD_DIR/boothctl}
samples=${BLE_BENCH_SAMPLES:-40}
. "$here/stack.sh"
# The device's address is the controller's: known before it advertises.
device=$(cat /sys/kernel/debug/bluetooth/hci0/identity 2>/dev/null | cut -d' ' -f1 | tr a-f A-F)
[ -n "$device" ] || device=$(hciconfig hci0 | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
timeout 240 "$boothctl" gatt "$device" --adapter hci1 --json --duration 200 --count "$samples" --subscribe 2a5f \
    >"$out/bench-gatt.log" 2>&1 &
gatt=$!
# Let boothctl start and begin scanning first.
for _ in $(seq 100); do grep -q '"event":"waiting"' "$out/bench-gatt.log" 2>/dev/null && break; sleep 0.3; done
sleep 2
python3 "$here/peripheral.py" hci0 VLab-Oximeter >"$out/bench-peripheral.log" 2>&1 &
wait $gatt
rc=$?
python3 - "$out/bench-gatt.log" "$out/bench-peripheral.log" <<'PY'
import json, statistics, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{')]
periph = [line.split() for line in open(sys.argv[2]) if '[periph]' in line]
advertised = next((float(p[0]) for p in periph if 'advertisement registered' in ' '.join(p)), None)
sent = {}
for p in periph:
    if len(p) >= 5 and p[2] == 'sent':
        sent.setdefault(p[4], float(p[0]))
notes = [e for e in events if e['event'] == 'notification']
connected = next((float(e['t']) for e in events if e['event'] == 'connected'), None)
if advertised is None or not notes:
    print('ble bench: no measurement received'); sys.exit(1)
first = float(notes[0]['t'])
print(f'ble bench: advertisement to connected (resolved) {connected - advertised:.2f} s' if connected else '')
print(f'ble bench: advertisement to first measurement {first - advertised:.2f} s')
lat = sorted((float(n['t']) - sent[n['hex']]) * 1000 for n in notes if n['hex'] in sent)
if lat:
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    print(f'ble bench: notification latency device app -> boothctl over {len(lat)} samples: '
          f'median {statistics.median(lat):.1f} ms, p95 {p95:.1f} ms, max {lat[-1]:.1f} ms')
PY
exit $rc
