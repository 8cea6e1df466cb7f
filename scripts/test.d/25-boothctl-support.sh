#!/usr/bin/env bash
# boothctl's support commands: `report` writes an archive with versions, doctor, configuration and logs and
# nothing from the state directory (no outbox, no token); `logs` and `doctor` answer in human and JSON forms.
set -euo pipefail
ctl=${BUILD_DIR:?}/boothctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$ctl" report -o report.tar.gz >out.txt
grep -q "wrote .*report.tar.gz" out.txt || { cat out.txt; echo "FAIL: report output"; exit 1; }
tar tzf report.tar.gz | sort >files.txt
for f in boothd-report/version.txt boothd-report/doctor.json boothd-report/config-keys.txt boothd-report/journal.txt; do
    grep -qx "$f" files.txt || { cat files.txt; echo "FAIL: $f missing from the report"; exit 1; }
done
if grep -Eq "sqlite|token|\.flac|\.jpg" files.txt; then echo "FAIL: patient data or secrets in the report"; exit 1; fi
tar xzf report.tar.gz
python3 -c "import json,sys; c=json.load(open('boothd-report/doctor.json')); assert all(k['verdict'] in ('PASS','WARN','FAIL') for k in c), c"
"$ctl" report -o r2.tar.gz --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['archive'].endswith('r2.tar.gz'), d"

# doctor: human lines start with a verdict; JSON parses; a broken configuration is a FAIL with a fix and exit 1.
"$ctl" doctor >doctor.txt || true
grep -Eq "^(PASS|WARN) +gstreamer elements" doctor.txt || { cat doctor.txt; echo "FAIL: doctor output"; exit 1; }
printf 'api:\n  port: nope\n' >bad.yaml
status=0
"$ctl" doctor --config bad.yaml --json >doctor.json || status=$?
[ $status -eq 1 ] || { echo "FAIL: doctor with a bad config exited $status"; exit 1; }
python3 - <<'PY'
import json
checks = json.load(open("doctor.json"))
config = next(c for c in checks if c["name"] == "configuration")
assert config["verdict"] == "FAIL" and "bad.yaml:2: api.port" in config["detail"] and config["hint"], config
PY

# logs: journalctl is asked for boothd's unit; with no journal it still answers cleanly.
if command -v journalctl >/dev/null; then
    "$ctl" logs -n 5 >/dev/null || { echo "FAIL: boothctl logs"; exit 1; }
fi
echo "boothctl support commands: report, doctor, logs OK"
