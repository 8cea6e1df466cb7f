#!/usr/bin/env bash
# Every shipped firmware profile validates (schema, driver ids) and its trace replays; the committed udev rules
# are exactly what the profiles generate (one source of truth).
set -euo pipefail
cd "$(dirname "$0")/../.."
boothctl="${BUILD_DIR:-$(swift build --show-bin-path)}/boothctl"
timeout 60 "$boothctl" profiles validate firmware-profiles
generated=$(mktemp)
trap 'rm -f "$generated"' EXIT
timeout 60 "$boothctl" profiles udev-rules --dir firmware-profiles > "$generated"
if ! diff -u udev/70-boothd.rules "$generated"; then
    echo "udev/70-boothd.rules is stale: run boothctl profiles udev-rules --dir firmware-profiles > udev/70-boothd.rules" >&2
    exit 1
fi
# A broken profile must be rejected with file:line.
broken=$(mktemp -d)
trap 'rm -f "$generated"; rm -rf "$broken"' EXIT
sed 's/^role: oximeter/role: oxymeter/' firmware-profiles/contec-cms50dplus.yaml > "$broken/bad.yaml"
if out=$(timeout 60 "$boothctl" profiles validate "$broken" 2>&1); then
    echo "a broken profile was accepted" >&2
    exit 1
fi
grep -q "bad.yaml:[0-9]*: role:" <<<"$out" || { echo "error does not name file:line: $out" >&2; exit 1; }
echo "profiles: valid, traces replayed, udev rules current"
