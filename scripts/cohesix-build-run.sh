#!/usr/bin/env bash
# cohesix-build-run.sh [--no-run] — build the seL4 image and boot it in QEMU.
# Needs SEL4_BUILD_DIR: a seL4 qemu-arm-virt aarch64 build tree with
# kernel/kernel.elf, kernel/kernel.dtb and the precompiled elfloader objects
# (elfloader/CMakeFiles/elfloader.dir, elfloader/linker.lds_pp, libcpio.a).
# The image is relinked from those objects with a new CPIO (kernel.elf,
# kernel.dtb, rootserver = shim + Go payload); seL4 itself is never built.
# PAYLOAD=FILE uses an already built linux/arm64 payload (svc-checked).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SEL4_BUILD_DIR:?set SEL4_BUILD_DIR to a seL4 build tree (see docs/SEL4.md)}"
B=$(realpath "$SEL4_BUILD_DIR")
out=$(realpath -m "${SEL4_OUT:-out/sel4}")
CC=${CC:-aarch64-linux-gnu-gcc}
scripts/sel4-abi-check.sh
if [ -z "${PAYLOAD:-}" ]; then
	TAGS=${TAGS:-cohesix_sel4} scripts/sel4-payload.sh
	PAYLOAD=$out/roottask-arm64
fi
scripts/sel4-shim-build.sh "$PAYLOAD"
img="$out/image"
rm -rf "$img" && mkdir -p "$img/cpio"
cp "$B/kernel/kernel.elf" "$B/kernel/kernel.dtb" "$img/cpio/"
cp "$out/rootserver" "$img/cpio/rootserver"
(cd "$img/cpio" && touch -d 1970-01-01T00:00:00Z kernel.elf kernel.dtb rootserver &&
	printf 'kernel.elf\nkernel.dtb\nrootserver\n' | cpio --quiet -o -H newc --owner=+0:+0 >"$img/archive.cpio")
printf '.section ._archive_cpio,"aw"\n.globl _archive_start, _archive_start_end\n_archive_start:\n.incbin "%s"\n_archive_start_end:\n' "$img/archive.cpio" >"$img/archive.S"
"$CC" -march=armv8-a -D__KERNEL_64__ -c "$img/archive.S" -o "$img/archive.o"
objs=$(sed -n 's/^build elfloader\/elfloader: C_EXECUTABLE_LINKER__elfloader_[A-Za-z]* //p' "$B/build.ninja" |
	tr ' ' '\n' | grep '\.obj$' | sed "s|^|$B/|")
cpiolib=$(find "$B" -name libcpio.a | head -1)
# The prebuilt linker script places the ELF-loader just above the images it
# was built for; a bigger root server would overlap it, so move the start
# above kernel + DTB + root server (each span rounded up), 1 MiB aligned.
span() {
	local lo=0 hi=0 t off va pa fs ms rest
	while read -r t off va pa fs ms rest; do
		[ "$t" = LOAD ] || continue
		if [ $lo = 0 ] || (( pa < lo )); then lo=$((pa)); fi
		if (( pa + ms > hi )); then hi=$((pa + ms)); fi
	done < <(aarch64-linux-gnu-readelf -lW "$1")
	echo $((hi - lo))
}
need=$(( $(span "$B/kernel/kernel.elf") + $(span "$out/rootserver") + $(wc -c <"$B/kernel/kernel.dtb") + 0x200000 ))
start=$(( (0x40000000 + need + 0xfffff) & ~0xfffff ))
sed "s/^\( *\. = \)0x[0-9a-f]*;/\1$(printf '0x%x' $start);/" "$B/elfloader/linker.lds_pp" >"$img/linker.lds"
"$CC" -D__KERNEL_64__ -Wl,-T "$img/linker.lds" -nostdlib -static -Wl,--build-id=none \
	"$img/archive.o" $objs "$cpiolib" -lgcc -o "$img/cohesix-image"
size=$(wc -c <"$img/cohesix-image")
echo "cohesix-build-run: image $img/cohesix-image ($size bytes, $((size / 1024)) KiB)"
scripts/sel4-size-check.sh "$out/rootserver" "$img/cohesix-image"
[ "${1:-}" = "--no-run" ] && exit 0
exec scripts/qemu-run.sh "$img/cohesix-image"
