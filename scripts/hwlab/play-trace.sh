#!/usr/bin/env bash
# Plays the device side ('<' lines) of a trace into a gadget node, as a device would send it.
#   play-trace.sh TRACE NODE [serial|hid]   hid: bytes are cut into 8-byte reports, the last one zero-padded
set -euo pipefail
trace=$1 node=$2 mode=${3:-serial}
hex=$(sed -n 's/^<[[:space:]]*//p' "$trace")
if [ "$mode" = serial ]; then
    while read -r line; do
        # One write per trace chunk, paced like a 19200-baud device (5 bytes ≈ 2.6 ms; keep it visible).
        printf "$(sed 's/\([0-9a-fA-F][0-9a-fA-F]\)[[:space:]]*/\\x\1/g' <<<"$line")" >"$node"
        sleep 0.05
    done <<<"$hex"
else
    bytes=$(tr -d ' \n' <<<"$hex")
    while [ $((${#bytes} % 16)) -ne 0 ]; do bytes+="00"; done
    for ((i = 0; i < ${#bytes}; i += 16)); do
        report=${bytes:i:16}
        printf "$(sed 's/\(..\)/\\x\1/g' <<<"$report")" >"$node"
        sleep 0.05
    done
fi
