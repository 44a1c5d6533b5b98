#!/usr/bin/env bash
# sel4-shim-build.sh [PAYLOAD] — compile the C shim (sel4/) with
# aarch64-linux-gnu-gcc -ffreestanding against the project's own ABI header
# and, when PAYLOAD (a linux/arm64 Go ELF) is given, link the seL4 root
# server out/sel4/rootserver embedding it. Without PAYLOAD it only compiles
# (what CI checks). The payload is linked packed (sel4pack; COH_PACK=0: raw).
# No seL4 headers or libraries are compiled in.
#
# Kernel variant: with SEL4_BUILD_DIR, the ABI variant (-DCOH_SEL4_ABI) is
# the one scripts/sel4-abi-check.sh --variant finds in that kernel's
# generated headers, and -DCOH_COUNTER_EXPORTED=1 is added when its
# gen_config has CONFIG_EXPORT_VCNT_USER (the shim then reads CNTVCT
# itself: clock=counter), and -DCOH_TIMER_EXPORTED=1 when it also has
# CONFIG_EXPORT_PTMR_USER and CONFIG_EXPORT_PCNT_USER (the shim arms the
# physical timer and sleeps on interrupts: docs/SEL4.md "Interrupts").
# Without it: variant 13, no counter, no timer. COH_SEL4_ABI, COH_COUNTER
# and COH_TIMER (0/1) override them.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-aarch64-linux-gnu-gcc}
out=${SEL4_OUT:-out/sel4}
mkdir -p "$out/shim"
abi=${COH_SEL4_ABI:-$(scripts/sel4-abi-check.sh --variant)}
counter=${COH_COUNTER:-0}
if [ -z "${COH_COUNTER:-}" ] && [ -n "${SEL4_BUILD_DIR:-}" ] && grep -qs "define CONFIG_EXPORT_VCNT_USER" \
	"$SEL4_BUILD_DIR"/kernel/gen_config/kernel/gen_config.h "$SEL4_BUILD_DIR"/include/kernel/gen_config.h; then
	counter=1
fi
timer=${COH_TIMER:-0}
if [ -z "${COH_TIMER:-}" ] && [ "$counter" = 1 ] && [ -n "${SEL4_BUILD_DIR:-}" ]; then
	for f in "$SEL4_BUILD_DIR"/kernel/gen_config/kernel/gen_config.h "$SEL4_BUILD_DIR"/include/kernel/gen_config.h; do
		if grep -qs "define CONFIG_EXPORT_PTMR_USER" "$f" && grep -qs "define CONFIG_EXPORT_PCNT_USER" "$f"; then
			timer=1
		fi
	done
fi
kflags=(-DCOH_SEL4_ABI="$abi")
[ "$counter" = 1 ] && kflags+=(-DCOH_COUNTER_EXPORTED=1)
[ "$timer" = 1 ] && kflags+=(-DCOH_TIMER_EXPORTED=1)
cflags=(-std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-stack-protector
	-mgeneral-regs-only -mstrict-align -Wall -Wextra -Werror -Wno-unused-function -Isel4/include -Isel4/src "${kflags[@]}" ${SHIM_CFLAGS:-})
"$CC" "${cflags[@]}" -c sel4/src/shim.c -o "$out/shim/shim.o"
"$CC" "${cflags[@]}" -c sel4/src/start.S -o "$out/shim/start.o"
echo "sel4-shim-build: compiled shim, ABI variant $abi, counter=$counter, timer=$timer ($(wc -c <"$out/shim/shim.o") bytes of shim.o)"
if [ $# -ge 1 ]; then
	payload=$(realpath "$1")
	# Packed (sel4/tools/sel4pack) unless COH_PACK=0: the shim decompresses
	# each segment in place, which keeps the image inside its 8 MiB budget.
	if [ "${COH_PACK:-1}" != 0 ]; then
		go run ./sel4/tools/sel4pack -in "$payload" -out "$out/shim/payload.pak"
		payload=$(realpath "$out/shim/payload.pak")
	fi
	"$CC" "${cflags[@]}" -DCOH_PAYLOAD_STR="\"$payload\"" -c sel4/src/payload.S -o "$out/shim/payload.o"
	"$CC" -nostdlib -static -no-pie -Wl,--build-id=none -T sel4/link.ld \
		"$out/shim/start.o" "$out/shim/shim.o" "$out/shim/payload.o" -lgcc -o "$out/rootserver"
	echo "sel4-shim-build: $out/rootserver ($(wc -c <"$out/rootserver") bytes)"
fi
