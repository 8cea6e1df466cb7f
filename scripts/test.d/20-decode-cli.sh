#!/usr/bin/env bash
# boothctl decode against every public vector: exit 0 and parseable JSON with the documented names for valid
# bytes, non-zero and one line on stderr for the invalid ones and for an unknown kind.
set -euo pipefail
cd "$(dirname "$0")/../.."
boothctl=${BUILD_DIR:-$(swift build --show-bin-path)}/boothctl
[ -x "$boothctl" ] || swift build --product boothctl
timeout 120 python3 - "$boothctl" <<'PY'
import json, subprocess, sys
boothctl = sys.argv[1]
kinds = [("plx_continuous_0x2A5F", "2A5F"), ("plx_spot_check_0x2A5E", "2A5E"), ("plx_features_0x2A60", "2A60"),
         ("bp_measurement_0x2A35", "2A35"), ("intermediate_cuff_pressure_0x2A36", "2A36"),
         ("temperature_measurement_0x2A1C", "2A1C"), ("glucose_measurement_0x2A18", "2A18"),
         ("weight_measurement_0x2A9D", "2A9D"), ("racp_0x2A52", "2A52"), ("sfloat", "sfloat"), ("float32", "float"),
         ("contec_cms50dplus_live", "cms50"), ("contec_cms50dplus_recorded", "cms50-recorded"),
         ("berrymed_bci", "berrymed"), ("jumper_jpd500f", "jumper"), ("jumper_jpd_ha120_bp", "jumper-bp"),
         ("yuwell_yx110", "yuwell"), ("viatom_o2ring_read_sensors_payload", "viatom-sensors"),
         ("viatom_o2ring_command_frame", "viatom-frame"), ("viatom_o2ring_response_frame", "viatom-frame")]
vectors = json.load(open("Tests/BoothCoreTests/Vectors/public-vectors.json"))
failures = 0
def run(*args):
    return subprocess.run([boothctl, "decode", *args], capture_output=True, text=True, timeout=20)
for vector in vectors:
    kind = next(k for prefix, k in kinds if vector["profile"].startswith(prefix))
    result = run(kind, vector["hex"], "--json")
    if vector["profile"].endswith("_invalid"):
        ok = result.returncode != 0 and result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    else:
        ok = result.returncode == 0
        if ok:
            out = json.loads(result.stdout)
            ok = {"profile", "values", "status", "timestamp"} <= out.keys() and all(
                {"code", "loinc", "value", "unit", "absentReason"} <= v.keys() for v in out["values"])
            for key in ("spo2", "systolic", "pulse_rate"):
                expected = vector["expected"].get(key)
                names = {"spo2": "MDC_PULS_OXIM_SAT_O2", "systolic": "MDC_PRESS_BLD_NONINV_SYS"}
                if key in names and isinstance(expected, (int, float)) and expected not in (127,):
                    got = [v["value"] for v in out["values"] if v["name"] == names[key]]
                    ok = ok and (got == [] or abs(got[0] - expected) < 1e-9)
    if not ok:
        failures += 1
        print(f"FAIL {vector['profile']} {vector['hex']}: rc={result.returncode} {result.stderr.strip()}")
result = run("nope", "00")
if result.returncode == 0 or len(result.stderr.strip().splitlines()) != 1:
    failures += 1
    print("FAIL unknown kind accepted")
print(f"decode cli: {len(vectors)} vectors, {failures} failure(s)")
sys.exit(1 if failures else 0)
PY
