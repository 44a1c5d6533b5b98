#!/usr/bin/env bash
# sel4-abi-check.sh — compare sel4/include/cohesix_sel4_abi.h with the
# generated headers of the kernel in $SEL4_BUILD_DIR (a seL4 build tree with
# libsel4/ and kernel/gen_config/, or a flattened kernel install with
# include/sel4/). The header's label numbers come in variants
# (-DCOH_SEL4_ABI=13 or 16, see the header); the variant checked is
# $COH_SEL4_ABI, or else the first one that matches. Fails, naming each
# number, when the checked variant differs. Without SEL4_BUILD_DIR it says
# so and exits 0 (CI has no seL4).
#
# --variant: print only the matching variant (for sel4-shim-build.sh).
set -euo pipefail
variants=(13 16)
mode=check
[ "${1:-}" = "--variant" ] && mode=variant
cd "$(dirname "$0")/.."
CC=${CC:-aarch64-linux-gnu-gcc}
if [ -z "${SEL4_BUILD_DIR:-}" ]; then
	[ $mode = variant ] && { echo "${COH_SEL4_ABI:-${variants[0]}}"; exit 0; }
	echo "sel4-abi-check: SEL4_BUILD_DIR not set; skipped (header compiles in sel4-shim-build.sh)"
	exit 0
fi
B=$SEL4_BUILD_DIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=()
full=0
if [ -d "$B/libsel4/include/sel4" ]; then
	inc=(-I"$B/libsel4/include" -I"$B/libsel4/arch_include/arm" -I"$B/libsel4/sel4_arch_include/aarch64"
		-I"$B/libsel4/autoconf" -I"$B/libsel4/gen_config" -I"$B/kernel/gen_config")
	# A build tree lacks the hand-written headers; stand in for the two the
	# generated ones include.
	mkdir -p "$tmp/stub/sel4"
	printf '#pragma once\n#include <autoconf.h>\n' >"$tmp/stub/sel4/config.h"
	printf '#pragma once\n#define SEL4_FORCE_LONG_ENUM(t) _enum_pad_##t = (1ULL << 63) - 1\n' >"$tmp/stub/sel4/macros.h"
	inc+=(-idirafter "$tmp/stub")
elif [ -f "$B/include/sel4/sel4.h" ]; then
	inc=(-I"$B/include")
	full=1
else
	echo "sel4-abi-check: $B has neither libsel4/include/sel4 nor include/sel4/sel4.h" >&2
	exit 1
fi
{
	echo '#include <sel4/config.h>'
	echo '#include <sel4/macros.h>'
	echo '#include <sel4/syscall.h>'
	echo '#include <sel4/invocation.h>'
	[ $full = 1 ] && echo '#include <sel4/sel4.h>'
	echo '#include "cohesix_sel4_abi.h"'
	echo '#define EQ(a, b) _Static_assert((long)(a) == (long)(b), "cohesix_sel4_abi.h: " #a " != kernel " #b);'
	echo '#if defined(CONFIG_KERNEL_MCS)'
	echo '#error "cohesix_sel4_abi.h describes a non-MCS kernel; this SEL4_BUILD_DIR is MCS"'
	echo '#endif'
	cat <<'C'
EQ(COH_SYS_CALL, seL4_SysCall) EQ(COH_SYS_REPLY_RECV, seL4_SysReplyRecv) EQ(COH_SYS_SEND, seL4_SysSend)
EQ(COH_SYS_NBSEND, seL4_SysNBSend) EQ(COH_SYS_RECV, seL4_SysRecv) EQ(COH_SYS_REPLY, seL4_SysReply)
EQ(COH_SYS_YIELD, seL4_SysYield) EQ(COH_SYS_NBRECV, seL4_SysNBRecv)
#ifdef CONFIG_PRINTING
EQ(COH_SYS_DEBUG_PUTCHAR, seL4_SysDebugPutChar)
#endif
#ifdef CONFIG_DEBUG_BUILD
EQ(COH_SYS_DEBUG_HALT, seL4_SysDebugHalt)
#endif
EQ(COH_LABEL_UNTYPED_RETYPE, UntypedRetype) EQ(COH_LABEL_TCB_READ_REGISTERS, TCBReadRegisters)
EQ(COH_LABEL_TCB_WRITE_REGISTERS, TCBWriteRegisters) EQ(COH_LABEL_TCB_CONFIGURE, TCBConfigure)
EQ(COH_LABEL_TCB_SET_PRIORITY, TCBSetPriority) EQ(COH_LABEL_TCB_SET_SPACE, TCBSetSpace)
EQ(COH_LABEL_TCB_SUSPEND, TCBSuspend) EQ(COH_LABEL_TCB_RESUME, TCBResume)
EQ(COH_LABEL_TCB_BIND_NOTIFICATION, TCBBindNotification) EQ(COH_LABEL_CNODE_DELETE, CNodeDelete)
EQ(COH_LABEL_CNODE_COPY, CNodeCopy) EQ(COH_LABEL_CNODE_MINT, CNodeMint)
EQ(COH_LABEL_CNODE_SAVE_CALLER, CNodeSaveCaller) EQ(COH_LABEL_IRQ_ISSUE_IRQ_HANDLER, IRQIssueIRQHandler)
EQ(COH_LABEL_IRQ_ACK_IRQ, IRQAckIRQ) EQ(COH_LABEL_IRQ_SET_IRQ_HANDLER, IRQSetIRQHandler)
EQ(COH_LABEL_ARM_PAGE_TABLE_MAP, ARMPageTableMap) EQ(COH_LABEL_ARM_PAGE_MAP, ARMPageMap)
EQ(COH_LABEL_ARM_PAGE_UNMAP, ARMPageUnmap) EQ(COH_LABEL_ARM_PAGE_GET_ADDRESS, ARMPageGetAddress)
C
	if [ $full = 1 ]; then cat <<'C'
EQ(COH_OBJ_UNTYPED, seL4_UntypedObject) EQ(COH_OBJ_TCB, seL4_TCBObject) EQ(COH_OBJ_ENDPOINT, seL4_EndpointObject)
EQ(COH_OBJ_NOTIFICATION, seL4_NotificationObject) EQ(COH_OBJ_CAPTABLE, seL4_CapTableObject)
EQ(COH_OBJ_ARM_HUGE_PAGE, seL4_ARM_HugePageObject) EQ(COH_OBJ_ARM_VSPACE, seL4_ARM_VSpaceObject)
EQ(COH_OBJ_ARM_SMALL_PAGE, seL4_ARM_SmallPageObject) EQ(COH_OBJ_ARM_LARGE_PAGE, seL4_ARM_LargePageObject)
EQ(COH_OBJ_ARM_PAGE_TABLE, seL4_ARM_PageTableObject) EQ(COH_TCB_BITS, seL4_TCBBits)
EQ(COH_MAX_BOOTINFO_UNTYPED, CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS) EQ(sizeof(coh_bootinfo), sizeof(seL4_BootInfo))
EQ(COH_UC_WORDS * 8, sizeof(seL4_UserContext)) EQ(COH_US_SYSCALL, seL4_UnknownSyscall_Syscall)
EQ(COH_UE_NUMBER, seL4_UserException_Number) EQ(COH_VM_ADDR, seL4_VMFault_Addr)
EQ(COH_FAULT_VM, seL4_Fault_VMFault) EQ(COH_FAULT_UNKNOWN_SYSCALL, seL4_Fault_UnknownSyscall)
C
	fi
	echo 'int coh_abi_checked;'
} >"$tmp/check.c"
compile() { "$CC" -std=c11 -ffreestanding -c -DCOH_SEL4_ABI="$1" -Isel4/include "${inc[@]}" "$tmp/check.c" -o "$tmp/check.o" 2>"$tmp/err"; }
v=${COH_SEL4_ABI:-}
if [ -z "$v" ]; then
	for c in "${variants[@]}"; do
		if compile "$c"; then v=$c; break; fi
	done
	[ -n "$v" ] || v=${variants[0]} # report the default variant's differences
fi
if ! compile "$v"; then
	grep -E "error" "$tmp/err" | sed 's/^.*error: /sel4-abi-check: /' >&2
	echo "sel4-abi-check: FAIL: sel4/include/cohesix_sel4_abi.h (variant $v; tried ${COH_SEL4_ABI:-${variants[*]}}) does not match $B" >&2
	exit 1
fi
if [ $mode = variant ]; then
	echo "$v"
	exit 0
fi
what="syscall numbers and invocation labels"
[ $full = 1 ] && what="$what, object types, boot info, fault layouts"
if [ -f "$B/kernel/gen_config/kernel/gen_config.h" ] || [ -f "$B/include/kernel/gen_config.h" ]; then
	cfg=$(cat "$B"/kernel/gen_config/kernel/gen_config.h "$B"/include/kernel/gen_config.h 2>/dev/null || true)
	grep -q "define CONFIG_EXPORT_VCNT_USER" <<<"$cfg" && clock="counter (KernelArmExportVCNTUser=ON; shim reads CNTVCT)" || clock="virtual (counter not exported; shim emulates CNTVCT)"
	echo "sel4-abi-check: kernel clock for user code: $clock"
fi
echo "sel4-abi-check: ok, variant $v (COH_SEL4_ABI=$v): $what match $B"
