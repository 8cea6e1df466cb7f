#!/usr/bin/env bash
# Builds the lab's stage-1 initramfs: static busybox, the modules that mount the host root over virtio-9p with a
# tmpfs overlay (in load order), and initramfs-init as /init.
#   mkinitramfs.sh KERNEL_VERSION OUTPUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kver=$1
out=$2
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{bin,modules,proc,sys,dev,host,rw,root}
cp /bin/busybox "$tree/bin/busybox"
# modprobe --show-depends prints dependencies first; keep each module once, at its first position.
for module in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -S "$kver" --show-depends "$module"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r file; do
    cp "$file" "$tree/modules/"
    basename "$file" >>"$tree/modules/load-order"
done
cp "$here/initramfs-init" "$tree/init"
chmod 755 "$tree/init"
(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "hwlab: initramfs $out ($(stat -c %s "$out") bytes)"
