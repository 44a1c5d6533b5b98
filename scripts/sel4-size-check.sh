#!/usr/bin/env bash
# sel4-size-check.sh ROOTSERVER [IMAGE] — the seL4 image's 8 MiB budget.
# With IMAGE (a seL4 tree was present) the headroom is measured on the
# bootable image itself. Without it (CI has no seL4 tree) it is estimated
# from the root server plus an allowance for what the seL4 tree adds:
# kernel.elf, kernel.dtb, the ELF-loader and the CPIO/ELF padding. Measured:
# 1 119 288 bytes on the prebuilt 13.x tree, 1 052 904 on seL4 16.0.0
# (docs/BENCHMARKS.md); the allowance is 1.25 MiB to cover both with margin.
# Fails when headroom drops under 256 KiB (issue 18 item 7).
set -euo pipefail
budget=$((8 << 20))        # limit-literal-ok: the image budget of issue 18
allowance=$((1280 << 10))  # limit-literal-ok: kernel + DTB + ELF-loader, see above
min=$((256 << 10))         # limit-literal-ok: minimum headroom of issue 18
rs=$(wc -c <"$1")
if [ $# -ge 2 ]; then
	size=$(wc -c <"$2")
	how="image $2"
else
	size=$((rs + allowance))
	how="root server $1 ($rs bytes) + $allowance bytes kernel/DTB/ELF-loader allowance"
fi
head=$((budget - size))
echo "sel4-size-check: $how = $size bytes, headroom $head bytes ($((head / 1024)) KiB) under 8 MiB"
if [ $head -lt $min ]; then
	echo "sel4-size-check: FAIL: headroom under 256 KiB ($min bytes)" >&2
	exit 1
fi
