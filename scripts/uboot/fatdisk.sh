# fatdisk.sh — sourced by mkdisk.sh and mksdcard.sh, not run.
# fatdisk IMG [MFORMAT_FLAGS...]: IMG becomes a new 64 MiB disk with an MBR
# holding one bootable FAT32-LBA partition (type 0x0C) from sector 2048 to
# the end, formatted with mtools (label COHESIX, MFORMAT_FLAGS added: -F
# forces FAT32) and empty. Files go in with mcopy -i "IMG@@1M". No loop
# devices and no mounts, so it needs no root.
fatdisk() {
	local img=$1
	shift
	rm -f "$img" && truncate -s 64M "$img"
	python3 - "$img" <<'EOPY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(446)
    f.write(struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0C, b"\xfe\xff\xff", 2048, 64 * 2048 - 2048))
    f.seek(510)
    f.write(b"\x55\xaa")
EOPY
	mformat -i "$img@@1M" "$@" -v COHESIX ::
}
