# Guest script (run by scripts/hwlab/run.sh): `boothctl ecg record` (BoothBlueZ, in process) against the lab
# peripheral serving Heart Rate + the Polar PMD ECG service (ecg_service.py: synthetic ECG at 72 /min) through a
# real bluetoothd. hci0 = the strap, hci1 = the booth. Checks the recording's sample count (20 s at 130 Hz, no gap),
# mean heart rate from the RR intervals (72 ± 1), the start/stop commands the strap received, and the strip PDF.
# Needs $BUILD_DIR/boothctl. Exit 0 = all passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${HWLAB_OUT:-/tmp}
boothctl=${BOOTHCTL:-$BUILD_DIR/boothctl}
seconds=20
. "$here/stack.sh"
wait_for() { # wait_for FILE PATTERN SECONDS
    local deadline=$(($(date +%s) + $3))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.3
    done
}

LAB_SERVICE_MODULES=ecg_service python3 "$here/peripheral.py" hci0 VLab-ECG >"$out/ecg-peripheral.log" 2>&1 &
wait_for "$out/ecg-peripheral.log" 'advertisement registered' 30 || { cat "$out/ecg-peripheral.log"; exit 1; }
device=$(cat /sys/kernel/debug/bluetooth/hci0/identity 2>/dev/null | cut -d' ' -f1)
[ -n "$device" ] || device=$(hciconfig hci0 | sed -n 's/.*BD Address: \([0-9A-F:]*\).*/\1/p')
device=$(echo "$device" | tr a-f A-F)
echo "ecg lab: strap $device advertising at $(ble_uptime) s"
timeout 150 "$boothctl" scan --adapter hci1 --seconds 120 --uuid 180d --until "$device" --json >"$out/ecg-scan.log" 2>&1 ||
    { echo "FAIL scan did not find the strap by the Heart Rate service"; cat "$out/ecg-scan.log"; exit 1; }
echo "PASS scan finds the strap by the Heart Rate service"
timeout 120 "$boothctl" pair "$device" --adapter hci1 --json >"$out/ecg-pair.log" 2>&1 ||
    { echo "FAIL pair"; cat "$out/ecg-pair.log"; exit 1; }
t0=$(ble_uptime)
timeout $((seconds + 150)) "$boothctl" ecg record "$device" --adapter hci1 --seconds "$seconds" \
    -o "$out/ecg-recording.json" --pdf "$out/ecg-strip.pdf" --json >"$out/ecg-record.log" 2>&1
rc=$?
t1=$(ble_uptime)
echo "ecg lab: boothctl ecg record exited $rc after $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}') s"
python3 - "$out/ecg-record.log" "$out/ecg-recording.json" "$out/ecg-peripheral.log" "$out/ecg-strip.pdf" "$rc" "$seconds" <<'PY'
import json, os, sys
log, recording, peripheral, pdf, rc, seconds = sys.argv[1:7]
failures = 0
def check(what, ok):
    global failures
    print(('PASS ' if ok else 'FAIL ') + what)
    failures += 0 if ok else 1
check(f'boothctl ecg record exits 0 (rc={rc})', rc == '0')
try:
    text = open(log).read()
    summary = json.loads(text[text.index('{'):])  # boothctl --json prints one (pretty) object
except ValueError:
    print(open(log).read()[-3000:])
    sys.exit(1)
want = int(seconds) * 130
check(f"sample count {summary['samples']} ≥ {want} with no gap ({summary['gaps']} gaps, {summary['missingSamples']} missing)",
      summary['samples'] >= want and summary['gaps'] == 0)
check(f"mean heart rate {summary['meanHeartRate']} ≈ 72 /min from {summary['rrIntervals']} RR intervals",
      summary['meanHeartRate'] is not None and abs(summary['meanHeartRate'] - 72) < 1 and summary['rrIntervals'] >= int(seconds) - 2)
check('recording complete, no rejected frame', not summary['incomplete'] and summary['rejectedFrames'] == 0)
lead = json.load(open(recording))['leads'][0]
check(f"recording JSON: {len(lead['samples'])} samples at {lead['sampleRateHz']} Hz", len(lead['samples']) == summary['samples'] and lead['sampleRateHz'] == 130)
lines = open(peripheral).read()
check('the strap received the ECG start command (130 Hz, 14 bit)', 'written 5c81 02000001820001010e00' in lines)
check('the strap received the stop command', 'written 5c81 0300' in lines)
check(f'strip PDF written ({os.path.getsize(pdf) if os.path.exists(pdf) else 0} bytes)', os.path.exists(pdf) and open(pdf, 'rb').read(5) == b'%PDF-')
sys.exit(1 if failures else 0)
PY
status=$?
if [ "$status" -ne 0 ]; then
    echo "ecg lab: failed; logs:"
    for f in ecg-record ecg-peripheral; do echo "--- $f.log"; tail -30 "$out/$f.log"; done
    grep -iE 'error|fail' "$out/bluetoothd.log" | tail -20
    exit 1
fi
echo "ecg lab: all checks passed"
