#!/usr/bin/env bash
# qemu-uboot-run.sh DISK — boot QEMU virt through Debian's u-boot-qemu
# (/usr/lib/u-boot/qemu_arm64/u-boot.bin) from DISK (scripts/uboot/mkdisk.sh):
# EL2 (virtualization=on, as U-Boot runs on a board), distro boot finds
# boot.scr on the FAT partition, fatload + bootm start the ELF-loader.
# Serial is stdio, COHESIX_ENV as in scripts/qemu-run.sh.
set -euo pipefail
disk=$1
shift
uboot=${UBOOT_BIN:-/usr/lib/u-boot/qemu_arm64/u-boot.bin}
env=${COHESIX_ENV-}
if [ -z "${COHESIX_ENV+x}" ] && [ ! -t 0 ]; then
	env="COHESIX_ECHO=0"
fi
fw=()
if [ -n "$env" ]; then
	fw=(-fw_cfg "name=opt/cohesix/env,string=${env//,/,,}")
fi
exec qemu-system-aarch64 -machine virt,virtualization=on -cpu cortex-a53 -m 1G -nographic -nic none -global virtio-mmio.force-legacy=false -device virtio-rng-device \
	-bios "$uboot" -drive "if=none,file=$disk,format=raw,id=hd0,snapshot=on" -device virtio-blk-device,drive=hd0 \
	"${fw[@]}" "$@"
