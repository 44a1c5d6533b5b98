/* Raw seL4 system calls and the few invocations the shim uses, written
 * against cohesix_sel4_abi.h only (no libsel4). */
#ifndef COH_SEL4_SYS_H
#define COH_SEL4_SYS_H
#include "cohesix_sel4_abi.h"

extern coh_word *coh_ipc; /* this thread's IPC buffer */

static inline coh_word coh_mr(int i) { return coh_ipc[COH_IPC_MSG_OFFSET + i]; }
static inline void coh_set_mr(int i, coh_word v) { coh_ipc[COH_IPC_MSG_OFFSET + i] = v; }

/* coh_call: seL4_Call with message registers 0..3 in x2..x5 and the rest in
 * the IPC buffer; returns the reply's message info. */
static inline coh_word coh_syscall(long sys, coh_cptr dest, coh_word info, coh_word *badge)
{
	register coh_word x0 asm("x0") = dest;
	register coh_word x1 asm("x1") = info;
	register coh_word x2 asm("x2") = coh_mr(0);
	register coh_word x3 asm("x3") = coh_mr(1);
	register coh_word x4 asm("x4") = coh_mr(2);
	register coh_word x5 asm("x5") = coh_mr(3);
	register long x7 asm("x7") = sys;
	asm volatile("svc #0"
		     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5)
		     : "r"(x7)
		     : "memory");
	coh_set_mr(0, x2);
	coh_set_mr(1, x3);
	coh_set_mr(2, x4);
	coh_set_mr(3, x5);
	if (badge)
		*badge = x0;
	return x1;
}

static inline coh_word coh_call(coh_cptr dest, coh_word info)
{
	return coh_syscall(COH_SYS_CALL, dest, info, 0);
}

static inline coh_word coh_recv(coh_cptr ep, coh_word *badge)
{
	return coh_syscall(COH_SYS_RECV, ep, 0, badge);
}

static inline void coh_send(coh_cptr dest, coh_word info)
{
	(void)coh_syscall(COH_SYS_SEND, dest, info, 0);
}

static inline void coh_reply(coh_word info)
{
	(void)coh_syscall(COH_SYS_REPLY, 0, info, 0);
}

static inline void coh_debug_putchar(char c)
{
	register coh_word x0 asm("x0") = (unsigned char)c;
	register long x7 asm("x7") = COH_SYS_DEBUG_PUTCHAR;
	asm volatile("svc #0" : "+r"(x0) : "r"(x7) : "x1", "x2", "x3", "x4", "x5", "memory");
}

/* Error code of an invocation reply (its label). */
static inline int coh_err(coh_word info) { return (int)COH_MSGINFO_LABEL(info); }

static inline int coh_untyped_retype(coh_cptr ut, coh_word type, coh_word size_bits,
				     coh_cptr root, coh_word index, coh_word depth,
				     coh_word offset, coh_word num)
{
	coh_set_mr(0, type);
	coh_set_mr(1, size_bits);
	coh_set_mr(2, index);
	coh_set_mr(3, depth);
	coh_ipc[COH_IPC_MSG_OFFSET + 4] = offset;
	coh_ipc[COH_IPC_MSG_OFFSET + 5] = num;
	coh_ipc[COH_IPC_CAPS_OFFSET] = root;
	return coh_err(coh_call(ut, COH_MSGINFO(COH_LABEL_UNTYPED_RETYPE, 0, 1, 6)));
}

static inline int coh_page_map(coh_cptr frame, coh_cptr vspace, coh_word vaddr,
			       coh_word rights, coh_word attr)
{
	coh_set_mr(0, vaddr);
	coh_set_mr(1, rights);
	coh_set_mr(2, attr);
	coh_ipc[COH_IPC_CAPS_OFFSET] = vspace;
	return coh_err(coh_call(frame, COH_MSGINFO(COH_LABEL_ARM_PAGE_MAP, 0, 1, 3)));
}

static inline int coh_page_table_map(coh_cptr pt, coh_cptr vspace, coh_word vaddr)
{
	coh_set_mr(0, vaddr);
	coh_set_mr(1, COH_ARM_DEFAULT_VMATTRIBUTES);
	coh_ipc[COH_IPC_CAPS_OFFSET] = vspace;
	return coh_err(coh_call(pt, COH_MSGINFO(COH_LABEL_ARM_PAGE_TABLE_MAP, 0, 1, 2)));
}

static inline int coh_tcb_configure(coh_cptr tcb, coh_cptr fault_ep, coh_cptr cspace,
				    coh_cptr vspace, coh_word ipc_vaddr, coh_cptr ipc_frame)
{
	coh_set_mr(0, fault_ep);
	coh_set_mr(1, 0); /* cspace root data */
	coh_set_mr(2, 0); /* vspace root data */
	coh_set_mr(3, ipc_vaddr);
	coh_ipc[COH_IPC_CAPS_OFFSET + 0] = cspace;
	coh_ipc[COH_IPC_CAPS_OFFSET + 1] = vspace;
	coh_ipc[COH_IPC_CAPS_OFFSET + 2] = ipc_frame;
	return coh_err(coh_call(tcb, COH_MSGINFO(COH_LABEL_TCB_CONFIGURE, 0, 3, 4)));
}

static inline int coh_tcb_set_priority(coh_cptr tcb, coh_cptr authority, coh_word prio)
{
	coh_set_mr(0, prio);
	coh_ipc[COH_IPC_CAPS_OFFSET] = authority;
	return coh_err(coh_call(tcb, COH_MSGINFO(COH_LABEL_TCB_SET_PRIORITY, 0, 1, 1)));
}

/* regs: COH_UC_WORDS words in seL4_UserContext order. */
static inline int coh_tcb_write_registers(coh_cptr tcb, int resume, const coh_word *regs)
{
	coh_set_mr(0, resume ? 1 : 0); /* resume_target; arch flags 0 */
	coh_set_mr(1, COH_UC_WORDS);
	for (int i = 0; i < COH_UC_WORDS; i++)
		coh_ipc[COH_IPC_MSG_OFFSET + 2 + i] = regs[i];
	return coh_err(coh_call(tcb, COH_MSGINFO(COH_LABEL_TCB_WRITE_REGISTERS, 0, 0, 2 + COH_UC_WORDS)));
}

static inline int coh_tcb_read_registers(coh_cptr tcb, coh_word *regs)
{
	coh_set_mr(0, 0); /* suspend_source 0, arch flags 0 */
	coh_set_mr(1, COH_UC_WORDS);
	int err = coh_err(coh_call(tcb, COH_MSGINFO(COH_LABEL_TCB_READ_REGISTERS, 0, 0, 2)));
	for (int i = 0; !err && i < COH_UC_WORDS; i++)
		regs[i] = coh_ipc[COH_IPC_MSG_OFFSET + i];
	return err;
}

static inline int coh_tcb_suspend(coh_cptr tcb)
{
	return coh_err(coh_call(tcb, COH_MSGINFO(COH_LABEL_TCB_SUSPEND, 0, 0, 0)));
}

static inline int coh_cnode_mint(coh_cptr root, coh_word dst, coh_cptr src, coh_word rights, coh_word badge)
{
	coh_set_mr(0, dst);
	coh_set_mr(1, 64);
	coh_set_mr(2, src);
	coh_set_mr(3, 64);
	coh_ipc[COH_IPC_MSG_OFFSET + 4] = rights;
	coh_ipc[COH_IPC_MSG_OFFSET + 5] = badge;
	coh_ipc[COH_IPC_CAPS_OFFSET] = root;
	return coh_err(coh_call(root, COH_MSGINFO(COH_LABEL_CNODE_MINT, 0, 1, 6)));
}

static inline int coh_cnode_save_caller(coh_cptr root, coh_word dst)
{
	coh_set_mr(0, dst);
	coh_set_mr(1, 64);
	return coh_err(coh_call(root, COH_MSGINFO(COH_LABEL_CNODE_SAVE_CALLER, 0, 0, 2)));
}

/* IRQ handlers and notifications (the shim's interrupt mode, docs/SEL4.md
 * "Interrupts"). */
static inline int coh_irq_control_get(coh_word irq, coh_word dst)
{
	coh_set_mr(0, irq);
	coh_set_mr(1, dst);
	coh_set_mr(2, 64);
	coh_ipc[COH_IPC_CAPS_OFFSET] = COH_CAP_INIT_CNODE;
	return coh_err(coh_call(COH_CAP_IRQ_CONTROL, COH_MSGINFO(COH_LABEL_IRQ_ISSUE_IRQ_HANDLER, 0, 1, 3)));
}

static inline int coh_irq_set_notification(coh_cptr handler, coh_cptr ntfn)
{
	coh_ipc[COH_IPC_CAPS_OFFSET] = ntfn;
	return coh_err(coh_call(handler, COH_MSGINFO(COH_LABEL_IRQ_SET_IRQ_HANDLER, 0, 1, 0)));
}

static inline int coh_irq_ack(coh_cptr handler)
{
	return coh_err(coh_call(handler, COH_MSGINFO(COH_LABEL_IRQ_ACK_IRQ, 0, 0, 0)));
}

static inline int coh_tcb_bind_notification(coh_cptr tcb, coh_cptr ntfn)
{
	coh_ipc[COH_IPC_CAPS_OFFSET] = ntfn;
	return coh_err(coh_call(tcb, COH_MSGINFO(COH_LABEL_TCB_BIND_NOTIFICATION, 0, 1, 0)));
}
#endif
