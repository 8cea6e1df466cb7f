#!/usr/bin/env bash
# ECG strips checked with a real PDF tool (poppler-utils): a synthetic 30 s recording at a known heart rate,
# rendered by `boothctl ecg strip`, must be one A4-landscape page with a grid and a trace in each 10 s row;
# `boothctl decode 2A37` decodes a public vector and rejects a truncated one.
set -euo pipefail
cd "$(dirname "$0")/../.."
boothctl="${BUILD_DIR:-$(swift build --show-bin-path)}/boothctl"
for tool in pdfinfo pdftoppm python3; do
    command -v "$tool" >/dev/null || { echo "80-ecg-strip: $tool missing (scripts/bootstrap --test installs poppler-utils)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

timeout 60 "$boothctl" ecg synth --heart-rate 75 --seconds 30 -o "$work/ecg.json"
timeout 60 "$boothctl" ecg strip --in "$work/ecg.json" -o "$work/strip.pdf" --png "$work/strip.png" --json > "$work/report.json"

info=$(timeout 30 pdfinfo "$work/strip.pdf")
grep -q '^Pages: *1$' <<<"$info" || { echo "expected one page: $info" >&2; exit 1; }
grep -q '^Page size: *841.89 x 595.276 pts (A4)' <<<"$info" || { echo "expected A4 landscape: $info" >&2; exit 1; }

timeout 60 pdftoppm -r 100 "$work/strip.pdf" "$work/page"
python3 - "$work/page-1.ppm" "$work/report.json" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
# Binary PPM: "P6\n<w> <h>\n255\n" then RGB bytes.
parts = data.split(b"\n", 3)
assert parts[0] == b"P6", parts[0]
width, height = map(int, parts[1].split())
pixels = parts[3]
assert abs(width - 1169) <= 1 and abs(height - 827) <= 1, (width, height)   # 297 x 210 mm at 100 dpi
px = lambda mm: int(round(mm / 25.4 * 100))
def rgb(x, y):
    i = 3 * (y * width + x)
    return pixels[i], pixels[i + 1], pixels[i + 2]
grid = dark = 0
for y in range(px(33), px(152)):
    for x in range(px(14), px(283)):
        r, g, b = rgb(x, y)
        if r > 200 and r - g > 15 and r - b > 15: grid += 1
        if r < 90 and g < 90 and b < 90: dark += 1
assert grid > 20000, f"grid pixels {grid}"
assert dark > 2000, f"trace pixels {dark}"
# A trace in each of the three 10 s rows (40 mm each, from 32.5 mm).
for row in range(3):
    top = 32.5 + 40 * row
    count = sum(1 for y in range(px(top + 8), px(top + 38)) for x in range(px(24), px(273))
                if max(rgb(x, y)) < 90)
    assert count > 300, f"row {row}: {count} trace pixels"
report = json.load(open(sys.argv[2]))
assert report["pages"] == 1 and report["samples"] == 3900, report
assert abs(report["meanHeartRate"] - 75) < 0.1, report["meanHeartRate"]
print(f"80-ecg-strip: page {width}x{height}px, grid {grid} px, trace {dark} px, mean HR {report['meanHeartRate']:.1f}")
PY

out=$(timeout 30 "$boothctl" decode 2A37 1f0101320101000201ffff --json)
grep -q '"heartRate"' <<<"$out" && grep -q '257' <<<"$out" && grep -q '306' <<<"$out" || { echo "2A37 decode: $out" >&2; exit 1; }
if timeout 30 "$boothctl" decode 2A37 170101 > "$work/err.txt" 2>&1; then
    echo "a truncated 0x2A37 value was accepted" >&2
    exit 1
fi
grep -q "rrInterval\[0\] at offset 3: truncated" "$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
echo "ecg strip: one A4 page, grid and trace present, 2A37 decode ok"
