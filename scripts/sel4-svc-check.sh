#!/usr/bin/env bash
# sel4-svc-check.sh BINARY — fail unless every `svc #0` in a linux/arm64 Go
# binary is immediately preceded by `mov x7, x8` (seL4 reads the syscall
# number from x7; see docs/SEL4.md). Prints each offending address.
# Needs aarch64-linux-gnu-objdump (Debian: binutils-aarch64-linux-gnu);
# OBJDUMP overrides it.
set -euo pipefail
bin=${1:?usage: sel4-svc-check.sh BINARY}
objdump=${OBJDUMP:-aarch64-linux-gnu-objdump}
command -v "$objdump" >/dev/null || { echo "sel4-svc-check: $objdump not found (apt-get install binutils-aarch64-linux-gnu)" >&2; exit 1; }
"$objdump" -d --no-show-raw-insn "$bin" | awk '
	/^ *[0-9a-f]+:\t/ {
		split($0, p, "\t"); addr = p[1]; sub(/^ */, "", addr); sub(/:$/, "", addr)
		insn = p[2]; args = p[3]
		if (insn == "svc") {
			total++
			if (prev != "mov x7, x8") { bad++; printf "sel4-svc-check: svc at 0x%s preceded by \"%s\" (in %s)\n", addr, prev, fn }
		}
		prev = insn " " args
		next
	}
	/^[0-9a-f]+ <.*>:$/ { fn = $2; prev = "" }
	END {
		if (total == 0) { print "sel4-svc-check: no svc instructions found (not a linux/arm64 Go binary?)"; exit 1 }
		if (bad > 0) { printf "sel4-svc-check: FAIL %d of %d svc sites lack mov x7, x8\n", bad, total; exit 1 }
		printf "sel4-svc-check: ok, %d svc sites, each preceded by mov x7, x8\n", total
	}'
