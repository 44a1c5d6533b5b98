/*
 * cohesix_sel4_abi.h — the project's own minimal seL4 ABI for the shim.
 *
 * Only what the shim uses: syscall numbers, the aarch64 register
 * convention, message-info encoding, the invocation labels and object
 * types it invokes, initial cap slots, the boot-info layout and the fault
 * message layouts. Values are those of a non-MCS aarch64 kernel without
 * hypervisor support for qemu-arm-virt (docs/SEL4.md).
 *
 * Invocation labels shift between seL4 releases and between MCS and
 * non-MCS, so the numbers come in variants chosen at compile time with
 * -DCOH_SEL4_ABI=<variant>:
 *   13  the prebuilt 13.x-era non-MCS tree (the default: CI compiles the
 *       shim with no SEL4_BUILD_DIR);
 *   16  seL4 16.0.0 non-MCS (two generic labels added before the Arm ones,
 *       so every Arm label is 2 higher).
 * scripts/sel4-abi-check.sh --variant picks the variant whose numbers match
 * the generated headers in $SEL4_BUILD_DIR (scripts/sel4-shim-build.sh
 * passes it), and the check fails, naming each number, when none does.
 * Generic labels, object types, the boot-info layout and the fault layouts
 * are the same in both variants.
 */
#ifndef COHESIX_SEL4_ABI_H
#define COHESIX_SEL4_ABI_H

typedef unsigned long coh_word;
typedef unsigned long coh_cptr;
typedef unsigned char coh_u8;

/* Syscall numbers, passed in x7 (non-MCS). */
#define COH_SYS_CALL          (-1)
#define COH_SYS_REPLY_RECV    (-2)
#define COH_SYS_SEND          (-3)
#define COH_SYS_NBSEND        (-4)
#define COH_SYS_RECV          (-5)
#define COH_SYS_REPLY         (-6)
#define COH_SYS_YIELD         (-7)
#define COH_SYS_NBRECV        (-8)
#define COH_SYS_DEBUG_PUTCHAR (-9)   /* CONFIG_PRINTING */
#define COH_SYS_DEBUG_HALT    (-11)  /* CONFIG_DEBUG_BUILD */

/*
 * Registers (aarch64): x0 = capability / badge, x1 = message info,
 * x2..x5 = message registers 0..3, x7 = syscall number. The rest of the
 * message lives in the IPC buffer: word 0 is the tag, msg[] starts at
 * word 1, caps_or_badges[] after msg[COH_MSG_MAX_LENGTH] and userData.
 */
#define COH_MSG_MAX_LENGTH   120
#define COH_MSG_REGISTERS    4
#define COH_IPC_MSG_OFFSET   1                            /* words */
#define COH_IPC_CAPS_OFFSET  (1 + COH_MSG_MAX_LENGTH + 1) /* words */

/* Message info: label[63:12] capsUnwrapped[11:9] extraCaps[8:7] length[6:0]. */
#define COH_MSGINFO(label, unwrapped, extra, len) \
	(((coh_word)(label) << 12) | (((coh_word)(unwrapped) & 7) << 9) | \
	 (((coh_word)(extra) & 3) << 7) | ((coh_word)(len) & 0x7f))
#define COH_MSGINFO_LABEL(mi)  ((coh_word)(mi) >> 12)
#define COH_MSGINFO_LENGTH(mi) ((coh_word)(mi) & 0x7f)

#ifndef COH_SEL4_ABI
#define COH_SEL4_ABI 13
#endif

/* Invocation labels, generic (non-MCS; the same in variants 13 and 16). */
#define COH_LABEL_UNTYPED_RETYPE         1
#define COH_LABEL_TCB_READ_REGISTERS     2
#define COH_LABEL_TCB_WRITE_REGISTERS    3
#define COH_LABEL_TCB_CONFIGURE          5
#define COH_LABEL_TCB_SET_PRIORITY       6
#define COH_LABEL_TCB_SET_SPACE          10
#define COH_LABEL_TCB_SUSPEND            11
#define COH_LABEL_TCB_RESUME             12
#define COH_LABEL_TCB_BIND_NOTIFICATION  13
#define COH_LABEL_CNODE_DELETE           18
#define COH_LABEL_CNODE_COPY             20
#define COH_LABEL_CNODE_MINT             21
#define COH_LABEL_CNODE_SAVE_CALLER      25
#define COH_LABEL_IRQ_ISSUE_IRQ_HANDLER  26
#define COH_LABEL_IRQ_ACK_IRQ            27
#define COH_LABEL_IRQ_SET_IRQ_HANDLER    28

/* Invocation labels, Arm (they follow the generic and aarch64 ones). */
#if COH_SEL4_ABI == 13
#define COH_SEL4_ABI_NAME "13.x non-MCS"
#define COH_LABEL_ARM_PAGE_TABLE_MAP     36
#define COH_LABEL_ARM_PAGE_MAP           38
#define COH_LABEL_ARM_PAGE_UNMAP         39
#define COH_LABEL_ARM_PAGE_GET_ADDRESS   44
#elif COH_SEL4_ABI == 16
#define COH_SEL4_ABI_NAME "16.0.0 non-MCS"
#define COH_LABEL_ARM_PAGE_TABLE_MAP     38
#define COH_LABEL_ARM_PAGE_MAP           40
#define COH_LABEL_ARM_PAGE_UNMAP         41
#define COH_LABEL_ARM_PAGE_GET_ADDRESS   46
#else
#error "COH_SEL4_ABI must be 13 or 16 (see scripts/sel4-abi-check.sh --variant)"
#endif

/* Object types (aarch64, non-MCS, no hypervisor). */
#define COH_OBJ_UNTYPED         0
#define COH_OBJ_TCB             1
#define COH_OBJ_ENDPOINT        2
#define COH_OBJ_NOTIFICATION    3
#define COH_OBJ_CAPTABLE        4
#define COH_OBJ_ARM_HUGE_PAGE   5
#define COH_OBJ_ARM_VSPACE      6
#define COH_OBJ_ARM_SMALL_PAGE  7
#define COH_OBJ_ARM_LARGE_PAGE  8
#define COH_OBJ_ARM_PAGE_TABLE  9

#define COH_PAGE_BITS       12
#define COH_LARGE_PAGE_BITS 21
#define COH_TCB_BITS        11
#define COH_ENDPOINT_BITS   4
#define COH_NOTIFICATION_BITS 5

/* Initial capability slots of the root task's CNode. */
#define COH_CAP_INIT_TCB      1
#define COH_CAP_INIT_CNODE    2
#define COH_CAP_INIT_VSPACE   3
#define COH_CAP_IRQ_CONTROL   4
#define COH_CAP_ASID_CONTROL  5
#define COH_CAP_INIT_ASID_POOL 6
#define COH_CAP_BOOTINFO_FRAME 9
#define COH_CAP_INIT_IPC_BUFFER 10

/* Errors returned in the message-info label of a failed invocation. */
#define COH_ERR_NONE              0
#define COH_ERR_INVALID_ARGUMENT  1
#define COH_ERR_INVALID_CAPABILITY 2
#define COH_ERR_ILLEGAL_OPERATION 3
#define COH_ERR_RANGE             4
#define COH_ERR_ALIGNMENT         5
#define COH_ERR_FAILED_LOOKUP     6
#define COH_ERR_TRUNCATED_MESSAGE 7
#define COH_ERR_DELETE_FIRST      8
#define COH_ERR_REVOKE_FIRST      9
#define COH_ERR_NOT_ENOUGH_MEMORY 10

/* ARM VM attributes and rights for Page_Map. */
#define COH_ARM_PAGE_CACHEABLE   1
#define COH_ARM_PARITY_ENABLED   2
#define COH_ARM_EXECUTE_NEVER    4
#define COH_ARM_DEFAULT_VMATTRIBUTES 3
#define COH_RIGHTS_RW            3   /* CapAllowRead | CapAllowWrite */
#define COH_RIGHTS_ALL           15

/* Boot info (non-MCS layout; CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS 230). */
#define COH_MAX_BOOTINFO_UNTYPED 230
typedef struct { coh_word start, end; } coh_slot_region;
typedef struct {
	coh_word paddr;
	coh_u8 size_bits;
	coh_u8 is_device;
	coh_u8 padding[sizeof(coh_word) - 2];
} coh_untyped_desc;
typedef struct {
	coh_word extra_len;
	coh_word node_id;
	coh_word num_nodes;
	coh_word num_iopt_levels;
	coh_word *ipc_buffer;
	coh_slot_region empty;
	coh_slot_region shared_frames;
	coh_slot_region user_image_frames;
	coh_slot_region user_image_paging;
	coh_slot_region io_space_caps;
	coh_slot_region extra_bi_pages;
	coh_word init_thread_cnode_size_bits;
	coh_word init_thread_domain;
	coh_slot_region untyped;
	coh_untyped_desc untyped_list[COH_MAX_BOOTINFO_UNTYPED];
} coh_bootinfo;

/* Fault labels delivered on a fault endpoint. */
#define COH_FAULT_NULL            0
#define COH_FAULT_CAP             1
#define COH_FAULT_UNKNOWN_SYSCALL 2
#define COH_FAULT_USER_EXCEPTION  3
#define COH_FAULT_VM              5

/* UnknownSyscall message: x0..x7, FaultIP, SP, LR, SPSR, Syscall. A reply
 * of up to COH_US_REPLY_LENGTH words writes those registers back. */
#define COH_US_X0        0
#define COH_US_FAULT_IP  8
#define COH_US_SP        9
#define COH_US_LR        10
#define COH_US_SPSR      11
#define COH_US_SYSCALL   12
#define COH_US_LENGTH    13
#define COH_US_REPLY_LENGTH 12

/* UserException message: FaultIP, Stack, SPSR, Number (the ESR), Code. */
#define COH_UE_FAULT_IP  0
#define COH_UE_SP        1
#define COH_UE_SPSR      2
#define COH_UE_NUMBER    3
#define COH_UE_CODE      4
#define COH_UE_LENGTH    5

/* VMFault message: IP, Addr, PrefetchFault, FSR. */
#define COH_VM_IP        0
#define COH_VM_ADDR      1
#define COH_VM_PREFETCH  2
#define COH_VM_FSR       3
#define COH_VM_LENGTH    4

/* seL4_UserContext order for TCB_Read/WriteRegisters (aarch64). */
#define COH_UC_PC    0
#define COH_UC_SP    1
#define COH_UC_SPSR  2
#define COH_UC_X0    3   /* x0..x8 follow; the rest is NOT in order, use COH_UC_XREG */
/* seL4_UserContext (aarch64): pc, sp, spsr, x0-x8, x16, x17, x18, x29, x30,
 * x9-x15, x19-x28, tpidr_el0, tpidrro_el0. COH_UC_XREG(n) is xn's index. */
#define COH_UC_XREG(n) ((n) <= 8 ? 3 + (n) : (n) <= 15 ? 17 + (n) - 9 : (n) <= 18 ? 12 + (n) - 16 : \
			(n) <= 28 ? 24 + (n) - 19 : 15 + (n) - 29)
#define COH_UC_TPIDR_EL0   34
#define COH_UC_TPIDRRO_EL0 35
#define COH_UC_WORDS 36

/* Exception classes in ESR[31:26] the shim emulates. */
#define COH_ESR_EC(esr)      (((esr) >> 26) & 0x3f)
#define COH_EC_SYSREG        0x18 /* trapped MRS/MSR (CNTVCT_EL0, CNTFRQ_EL0 when not exported) */
#define COH_EC_UNKNOWN       0x00

/* Cohesix private syscall range (numbers Linux/arm64 does not use),
 * served by the shim for the Go side (roottask/platform/sel4). */
#define COH_PRIV_MAP_DEVICE  0x4300 /* (paddr, len) -> vaddr */
#define COH_PRIV_DMA_ALLOC   0x4301 /* (len, *paddr) -> vaddr */
#define COH_PRIV_WAIT_IRQ    0x4302 /* (irq, timeout_ns or 0) -> 0 once the IRQ fired since the last wait,
                                     * -ETIMEDOUT, -ENOSYS with interrupts off (the driver polls),
                                     * -EINVAL for an IRQ that is not a virtio-mmio slot's */
#define COH_PRIV_CLOCK_INFO  0x4303 /* () -> 0 virtual, 1 counter, 2 virtual paced by the PL031 RTC */
#define COH_PRIV_PLAT_INFO   0x4304 /* () -> 0 qemu-arm-virt, 1 bcm2711 (the Go side picks its entropy source) */

#endif /* COHESIX_SEL4_ABI_H */
