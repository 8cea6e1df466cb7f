#!/usr/bin/env bash
# Boots the lab guest (a Debian kernel under qemu, TCG unless HWLAB_ACCEL=kvm), runs GUEST_SCRIPT in it with bash,
# powers off, and exits with the script's status (124 when the run timed out, 125 when the guest never ran it).
#   scripts/hwlab/run.sh GUEST_SCRIPT [ARGS...]
# The guest sees the host's root read-only (under a tmpfs overlay, so it may write anywhere), hence it runs the
# freshly built binaries in place. Inside, $HWLAB_OUT is a directory shared with the host: put logs there. The
# guest starts in the current directory. Variables named in HWLAB_PASS (plus BUILD_DIR) are passed through.
# Environment: HWLAB_TIMEOUT (s, default 300), HWLAB_MEM (MiB, 2048), HWLAB_SMP (2), HWLAB_WORK, HWLAB_KVER.
# The console goes to stdout and to <run dir>/console.log; run.sh prints the run directory at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
    echo "usage: $0 GUEST_SCRIPT [ARGS...]" >&2
    exit 2
fi
script=$(realpath "$1")
shift
[ -r "$script" ] || { echo "hwlab: no such guest script: $script" >&2; exit 2; }
work=${HWLAB_WORK:-$(cd "$here/../.." && pwd)/.build/hwlab}
kver=${HWLAB_KVER:-$(ls /lib/modules 2>/dev/null | sort -V | tail -1)}
initramfs="$work/initramfs-$kver.cpio.gz"
if [ -z "$kver" ] || [ ! -s "$initramfs" ] || ! command -v qemu-system-x86_64 >/dev/null; then
    "$here/setup.sh"
    kver=${HWLAB_KVER:-$(ls /lib/modules | sort -V | tail -1)}
    initramfs="$work/initramfs-$kver.cpio.gz"
fi

mkdir -p "$work/runs"
# Keep the ten newest run directories for their logs.
ls -1dt "$work"/runs/*/ 2>/dev/null | tail -n +10 | xargs -r rm -rf || true
run=$(mktemp -d "$work/runs/$(date +%H%M%S)-XXXX")
mkdir -p "$run/out"
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
    echo "HWLAB_SCRIPT=$(quote "$script")"
    echo "HWLAB_CWD=$(quote "$PWD")"
    for name in BUILD_DIR ${HWLAB_PASS:-}; do
        if [ -n "${!name+set}" ]; then echo "export $name=$(quote "${!name}")"; fi
    done
} >"$run/job.env"
: >"$run/args"
for arg in "$@"; do printf '%s\n' "$arg" >>"$run/args"; done

if [ "${HWLAB_ACCEL:-tcg}" = kvm ]; then
    accel=(-accel kvm -cpu host)
else
    accel=(-accel tcg,thread=multi -cpu max)
fi
started=$(date +%s.%N)
set +e
timeout --kill-after=10 "${HWLAB_TIMEOUT:-300}" qemu-system-x86_64 "${accel[@]}" \
    -m "${HWLAB_MEM:-2048}" -smp "${HWLAB_SMP:-2}" -machine q35 \
    -kernel "/boot/vmlinuz-$kver" -initrd "$initramfs" \
    -append "console=ttyS0 quiet loglevel=4 panic=-1 tsc=reliable hwlab.stage2=$here/guest-init.sh" \
    -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
    -fsdev "local,id=hwlabrun,path=$run,security_model=none,multidevs=remap" \
    -device virtio-9p-pci,fsdev=hwlabrun,mount_tag=hwlabrun \
    -display none -vga none -nodefaults -serial stdio -monitor none -no-reboot </dev/null 2>&1 |
    tee "$run/console.log"
qemu_rc=${PIPESTATUS[0]}
set -e
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
    echo "hwlab: TIMEOUT after ${HWLAB_TIMEOUT:-300} s (run directory $run)"
    exit 124
fi
rc=$(cat "$run/rc" 2>/dev/null || echo 125)
echo "hwlab: $(basename "$script") exited $rc; VM wall time ${elapsed} s; run directory $run"
exit "$rc"
