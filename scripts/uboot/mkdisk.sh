#!/usr/bin/env bash
# mkdisk.sh IMAGE OUTDIR [PLATFORM] — package a seL4 image (the ELF-loader
# ELF from cohesix-build-run.sh or the CMake build) for U-Boot:
#   OUTDIR/cohesix.uimg  uImage (mkimage: arm64, raw ELF-loader binary,
#                        load = entry = the ELF-loader's start address)
#   OUTDIR/boot.scr      fatload + bootm script, found by U-Boot's distro boot
#   OUTDIR/disk.img      (PLATFORM qemu, the default) 64 MiB MBR disk, one FAT
#                        partition holding both; built with mtools, no mounts
# Needs u-boot-tools (mkimage), mtools, binutils-aarch64-linux-gnu.
# PLATFORM pi4: no disk image; the files go onto the SD card's FAT partition
# (scripts/uboot/mksdcard.sh) and boot.scr loads from mmc.
set -euo pipefail
img=$1 out=$2 plat=${3:-qemu}
mkdir -p "$out"
entry=$(aarch64-linux-gnu-readelf -h "$img" | awk '/Entry point/{print $4}')
aarch64-linux-gnu-objcopy -O binary "$img" "$out/cohesix.bin"
# objcopy -O binary starts at the lowest section, which must be the entry.
low=$(aarch64-linux-gnu-readelf -SW "$img" | sed -n 's/^ *\[ *[0-9]*\] *//p' |
	awk '$2 == "PROGBITS" && $3 !~ /^0+$/ {print "0x"$3; exit}')
if (( low != entry )); then
	echo "mkdisk: image starts at $low but enters at $entry; cannot make a uImage" >&2
	exit 1
fi
mkimage -A arm64 -O linux -T kernel -C none -a "$entry" -e "$entry" -n cohesix -d "$out/cohesix.bin" "$out/cohesix.uimg" >/dev/null
# The uImage file is read to a staging address clear of the kernel, the
# root server and the ELF-loader (QEMU virt: RAM from 0x40000000, image just
# above 0x40000000; Pi 4: RAM from 0, image below 16 MiB, and the staging
# address stays inside the first GiB); bootm moves it to its load address.
dev="virtio 0:1" stage=0x48000000
if [ "$plat" = pi4 ]; then dev="mmc 0:1" stage=0x10000000; fi
cat >"$out/boot.cmd" <<EOC
echo cohesix: fatload
fatload $dev $stage cohesix.uimg
bootm $stage - \${fdtcontroladdr}
EOC
mkimage -A arm64 -O linux -T script -C none -d "$out/boot.cmd" "$out/boot.scr" >/dev/null
rm -f "$out/cohesix.bin"
[ "$plat" = pi4 ] && exit 0
# 64 MiB: the root task also takes this virtio-blk disk as its store disk and refuses one smaller
# than every store the manifest sizes (hive.DiskBlocks, about 39 MB; qemu-uboot-run.sh boots it
# with snapshot=on, so the stores never reach the FAT on the host).
. "$(dirname "${BASH_SOURCE[0]}")/fatdisk.sh"
fatdisk "$out/disk.img"
mcopy -i "$out/disk.img@@1M" "$out/cohesix.uimg" "$out/boot.scr" ::
echo "mkdisk: $out/disk.img (cohesix.uimg $(wc -c <"$out/cohesix.uimg") bytes, entry $entry)"
