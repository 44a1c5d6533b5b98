#!/usr/bin/env bash
# sel4-shim-build.sh [PAYLOAD] — compile the C shim (sel4/) with
# aarch64-linux-gnu-gcc -ffreestanding against the project's own ABI header
# and, when PAYLOAD (a linux/arm64 Go ELF) is given, link the seL4 root
# server out/sel4/rootserver embedding it. Without PAYLOAD it only compiles
# (what CI checks). No seL4 headers or libraries are used.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-aarch64-linux-gnu-gcc}
out=${SEL4_OUT:-out/sel4}
mkdir -p "$out/shim"
cflags=(-std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-stack-protector
	-mgeneral-regs-only -mstrict-align -Wall -Wextra -Werror -Wno-unused-function -Isel4/include -Isel4/src ${SHIM_CFLAGS:-})
"$CC" "${cflags[@]}" -c sel4/src/shim.c -o "$out/shim/shim.o"
"$CC" "${cflags[@]}" -c sel4/src/start.S -o "$out/shim/start.o"
echo "sel4-shim-build: compiled shim ($(wc -c <"$out/shim/shim.o") bytes of shim.o)"
if [ $# -ge 1 ]; then
	payload=$(realpath "$1")
	"$CC" "${cflags[@]}" -DCOH_PAYLOAD_STR="\"$payload\"" -c sel4/src/payload.S -o "$out/shim/payload.o"
	"$CC" -nostdlib -static -no-pie -Wl,--build-id=none -T sel4/link.ld \
		"$out/shim/start.o" "$out/shim/shim.o" "$out/shim/payload.o" -lgcc -o "$out/rootserver"
	echo "sel4-shim-build: $out/rootserver ($(wc -c <"$out/rootserver") bytes)"
fi
