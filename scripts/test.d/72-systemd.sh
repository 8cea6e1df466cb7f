#!/usr/bin/env bash
# The systemd unit passes `systemd-analyze verify`, and its `systemd-analyze security` exposure stays low.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing (apt systemd)" >&2; exit 1; }
bin="${BUILD_DIR:-$(swift build --show-bin-path)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# verify checks that ExecStart exists: point it at the build's boothd.
sed "s#^ExecStart=/usr/bin/boothd#ExecStart=$bin/boothd#" systemd/boothd.service > "$work/boothd.service"
timeout 60 systemd-analyze verify "$work/boothd.service"
score=$(timeout 60 systemd-analyze security --offline=true "$work/boothd.service" 2>/dev/null |
    sed -n 's/.*Overall exposure level for boothd.service: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security exposure: ${score:-?} (0 = locked down, 10 = unprotected)"
[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "exposure above 2.5" >&2; exit 1; }
echo "systemd: unit verified"
