#!/usr/bin/env bash
# mksdcard.sh PI4_IMAGE [OUT] — lay out a Raspberry Pi 4 SD card image
# (default out/sdcard/sdcard.img): MBR + one FAT32 boot partition with
#   firmware   start4.elf fixup4.dat bcm2711-rpi-4-b.dtb (from FIRMWARE_DIR:
#              the Raspberry Pi firmware repository's boot/ folder; named,
#              never shipped by this repository)
#   U-Boot     u-boot.bin from Debian's u-boot-rpi (UBOOT_RPI4, default
#              /usr/lib/u-boot/rpi_4/u-boot.bin; the package exists for
#              arm64/armhf Debian only)
#   config.txt arm_64bit=1, enable_uart=1, kernel=u-boot.bin
#   boot.scr + cohesix.uimg  from scripts/uboot/mkdisk.sh ... pi4 (mmc 0:1)
#   cohesix/   the manifest artifacts (configs/root_task.toml, its sha256)
# PI4_IMAGE is the bcm2711 image of the CMake build (docs/PI4.md). Missing
# firmware or U-Boot fails with their names; SDCARD_PARTIAL=1 lays out the
# rest anyway and lists what is missing in MISSING.txt on the card.
set -euo pipefail
cd "$(dirname "$0")/../.."
img=${1:?usage: mksdcard.sh PI4_IMAGE [OUT]}
out=${2:-out/sdcard/sdcard.img}
uboot=${UBOOT_RPI4:-/usr/lib/u-boot/rpi_4/u-boot.bin}
fw=${FIRMWARE_DIR:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/uboot/mkdisk.sh "$img" "$work" pi4
printf 'arm_64bit=1\nenable_uart=1\nkernel=u-boot.bin\n' >"$work/config.txt"
files=("$work/config.txt" "$work/boot.scr" "$work/cohesix.uimg")
missing=()
for f in start4.elf fixup4.dat bcm2711-rpi-4-b.dtb; do
	if [ -n "$fw" ] && [ -r "$fw/$f" ]; then files+=("$fw/$f"); else missing+=("$f (FIRMWARE_DIR)"); fi
done
if [ -r "$uboot" ]; then files+=("$uboot"); else missing+=("u-boot.bin ($uboot: Debian u-boot-rpi)"); fi
if [ ${#missing[@]} -gt 0 ]; then
	printf '%s\n' "${missing[@]}" >"$work/MISSING.txt"
	if [ "${SDCARD_PARTIAL:-0}" != 1 ]; then
		echo "mksdcard: missing: ${missing[*]}" >&2
		echo "mksdcard: set FIRMWARE_DIR / UBOOT_RPI4, or SDCARD_PARTIAL=1 to lay out the rest" >&2
		exit 1
	fi
	files+=("$work/MISSING.txt")
fi
mkdir -p "$(dirname "$out")" "$work/cohesix"
cp configs/root_task.toml "$work/cohesix/"
sha256sum configs/root_task.toml | cut -d' ' -f1 >"$work/cohesix/root_task.toml.sha256"
. scripts/uboot/fatdisk.sh
fatdisk "$out" -F # the Pi firmware reads FAT32
mcopy -i "$out@@1M" "${files[@]}" ::
mcopy -i "$out@@1M" -s "$work/cohesix" ::
echo "mksdcard: $out ($(wc -c <"$work/cohesix.uimg") bytes of cohesix.uimg)${missing[*]:+; MISSING: ${missing[*]}}"
mdir -i "$out@@1M" -/ :: | grep -v '^$'
