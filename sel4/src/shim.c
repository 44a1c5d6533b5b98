/*
 * Cohesix seL4 shim: the seL4 root server that hosts the static linux/arm64
 * Go root task (docs/SEL4.md, DECISIONS.md D7).
 *
 * It loads the embedded Go ELF into its own address space, starts it in a
 * second thread whose fault endpoint it serves, and performs the Linux
 * system calls that arrive as UnknownSyscall faults. Memory comes from
 * untypeds, frames are mapped lazily on VMFault. Time: built for a kernel
 * that exports the counter to user mode (COH_COUNTER_EXPORTED, from
 * KernelArmExportVCNTUser) the shim reads CNTVCT_EL0/CNTFRQ_EL0 itself and
 * Go's own counter reads do not trap (clock=counter). Otherwise it is a
 * virtual clock that advances by a fixed cost per system call and, when
 * every Go thread is blocked, is paced by the PL031 RTC or jumps to the
 * next deadline. Anything the shim cannot serve is reported on serial and
 * stops the payload instead of hanging.
 */
#include "sel4_sys.h"
#include "linux.h"
#include "unpack.h"

#define MAX_THREADS 64
#define PRIO_SHIM 254
#define PRIO_GO 100
#define PRIO_IDLE 1
#define NS_PER_SYSCALL 13000ull /* measured UnknownSyscall round trip under TCG */
#define CNTFRQ 62500000ull

extern const unsigned char coh_payload_start[], coh_payload_end[];
coh_word *coh_ipc;
static coh_bootinfo *bi;
static coh_word next_slot, last_slot;
static coh_cptr fault_ep;
static unsigned long long now_ns = 1700000000ull * 1000000000ull; /* virtual clock */

/* PL031 RTC (QEMU virt 0x09010000): whole seconds of wall time. When it is
 * there the virtual clock starts at its reading and is paced by it: while
 * every Go thread is blocked the clock advances by ns_per_idle per idle
 * round (adapted each RTC second) and stays within the RTC's current
 * second, so timers fire at roughly real time instead of all at once. */
#define RTC_PADDR 0x09010000ul
/* The console UART (PL011 on both): QEMU virt's, or the Pi 4's UART0 in the
 * bcm2711's low-peripheral map seL4 uses (build with -DCOH_PLAT_BCM2711;
 * that board has no PL031 and no fw_cfg, so both are skipped). */
#ifdef COH_PLAT_BCM2711
#define UART_PADDR 0xfe201000ul
#else
#define UART_PADDR 0x09000000ul
#endif
#define RTC_VA 0x10000002000ul
#ifdef COH_PLAT_BCM2711
/* The Pi 4's RNG200 (Go's entropy source, roottask/platform/sel4/rng.go). */
#define RNG200_PADDR 0xfe104000ul
#define RNG200_VA 0x10000003000ul
static int rng200_mapped;
#endif
static volatile unsigned int *rtc;
/* One idle round (UnknownSyscall round trip + UART/RTC polls) measured at
 * about 5.8 us under QEMU 7.2 TCG; re-estimated each RTC second. */
static unsigned long long ns_per_idle = 6000ull, rtc_last, rtc_edges, idle_rounds, syscalls_since;

#ifdef COH_COUNTER_EXPORTED
/* The kernel exports the virtual counter: now_ns = boot wall time (the
 * RTC's, else the fixed start) + counter ticks since boot. */
static unsigned long long cnt0, cnt_frq, cnt_base_ns;
static unsigned long long read_cntvct(void)
{
	unsigned long long v;
	asm volatile("isb\nmrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}
static void counter_init(void)
{
	asm volatile("mrs %0, cntfrq_el0" : "=r"(cnt_frq));
	if (!cnt_frq)
		cnt_frq = CNTFRQ;
	cnt0 = read_cntvct();
	cnt_base_ns = now_ns;
}
/* counter_now sets now_ns from the counter (split so ticks * 1e9 never
 * overflows). */
static void counter_now(void)
{
	unsigned long long t = read_cntvct() - cnt0;
	now_ns = cnt_base_ns + (t / cnt_frq) * 1000000000ull + (t % cnt_frq) * 1000000000ull / cnt_frq;
}
#define COH_HAVE_COUNTER 1
#else
#define COH_HAVE_COUNTER 0
static void counter_init(void) {}
static void counter_now(void) {}
#endif

/* ---- serial ---------------------------------------------------------- */
static volatile unsigned int *uart; /* PL011, mapped once a device frame is found */
static void putc_serial(char c)
{
	if (!uart) {
		coh_debug_putchar(c);
		return;
	}
	while (uart[0x18 / 4] & (1u << 5)) /* TXFF */
		;
	uart[0] = (unsigned char)c;
}
static void puts_serial(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_serial('\r');
		putc_serial(*s);
	}
}
static void puthex(coh_word v)
{
	char b[19] = "0x";
	for (int i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	b[18] = 0;
	puts_serial(b);
}
static int getc_serial(void)
{
	if (!uart || (uart[0x18 / 4] & (1u << 4))) /* RXFE */
		return -1;
	return (int)(uart[0] & 0xff);
}
static void halt(const char *why)
{
	puts_serial("cohesix-shim: halt: ");
	puts_serial(why);
	puts_serial("\n");
	for (;;)
		coh_recv(fault_ep, 0);
}

static void *memset(void *d, int c, unsigned long n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}
static void *memcpy(void *d, const void *s, unsigned long n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

/* ---- capabilities and memory ------------------------------------------ */
static coh_word alloc_slot(void)
{
	if (next_slot >= last_slot)
		halt("out of CNode slots (use a kernel with KernelRootCNodeSizeBits=16)");
	return next_slot++;
}

/* obj_bits is the size of one object of type (what Untyped_Retype takes
 * from the untyped, aligned to that size). */
static coh_word obj_bits(coh_word type, coh_word size_bits)
{
	switch (type) {
	case COH_OBJ_TCB:
		return COH_TCB_BITS;
	case COH_OBJ_ENDPOINT:
		return COH_ENDPOINT_BITS;
	case COH_OBJ_NOTIFICATION:
		return COH_NOTIFICATION_BITS;
	case COH_OBJ_ARM_LARGE_PAGE:
		return COH_LARGE_PAGE_BITS;
	case COH_OBJ_UNTYPED:
		return size_bits;
	default:
		return COH_PAGE_BITS; /* small page, page table */
	}
}

/* alloc_obj retypes one object from the first RAM untyped that has room.
 * The shim tracks each untyped's watermark itself so it never asks the
 * kernel for a retype that cannot fit (a debug kernel prints every failed
 * one on the serial line, in the middle of console output). */
#define MAX_UNTYPED 256
static coh_word ut_used[MAX_UNTYPED];
static coh_cptr alloc_obj(coh_word type, coh_word size_bits)
{
	static unsigned int cur;
	coh_word slot = alloc_slot(), bits = obj_bits(type, size_bits), sz = 1ul << bits;
	unsigned int n = bi->untyped.end - bi->untyped.start;
	if (n > MAX_UNTYPED)
		n = MAX_UNTYPED;
	for (; cur < n; cur++) {
		coh_untyped_desc *d = &bi->untyped_list[cur];
		if (d->is_device || d->size_bits < bits)
			continue;
		coh_word off = (ut_used[cur] + sz - 1) & ~(sz - 1);
		if (off + sz > (1ul << d->size_bits))
			continue;
		if (coh_untyped_retype(bi->untyped.start + cur, type, size_bits, COH_CAP_INIT_CNODE, 0, 0, slot, 1) == 0) {
			ut_used[cur] = off + sz;
			return slot;
		}
	}
	halt("out of untyped memory");
	return 0;
}

/* map_frame maps frame at vaddr, adding page tables on FailedLookup. */
static void map_frame(coh_cptr frame, coh_word vaddr, coh_word attr)
{
	for (int tries = 0; tries < 4; tries++) {
		int err = coh_page_map(frame, COH_CAP_INIT_VSPACE, vaddr, COH_RIGHTS_RW, attr);
		if (err == 0)
			return;
		if (err != COH_ERR_FAILED_LOOKUP)
			break;
		coh_cptr pt = alloc_obj(COH_OBJ_ARM_PAGE_TABLE, 0);
		if (coh_page_table_map(pt, COH_CAP_INIT_VSPACE, vaddr) != 0)
			break;
	}
	puts_serial("cohesix-shim: cannot map ");
	puthex(vaddr);
	halt("page map failed");
}

/* map_device maps the device frame holding paddr at vaddr (uncached).
 * The device untyped's watermark (ut_used) is advanced to paddr with
 * untyped children, each the largest aligned block that fits, then one
 * frame is retyped there; later calls on the same untyped go on from it. */
static int map_device(coh_word paddr, coh_word vaddr)
{
	unsigned int n = bi->untyped.end - bi->untyped.start;
	if (n > MAX_UNTYPED)
		n = MAX_UNTYPED;
	for (unsigned int i = 0; i < n; i++) {
		coh_untyped_desc *d = &bi->untyped_list[i];
		if (!d->is_device || paddr < d->paddr || paddr >= d->paddr + (1ul << d->size_bits))
			continue;
		coh_word off = (paddr & ~0xffful) - d->paddr;
		if (ut_used[i] > off)
			return -1; /* already handed out */
		while (ut_used[i] < off) {
			int b = 63;
			while (b > COH_PAGE_BITS && ((ut_used[i] & ((1ul << b) - 1)) || ut_used[i] + (1ul << b) > off))
				b--;
			if (coh_untyped_retype(bi->untyped.start + i, COH_OBJ_UNTYPED, (coh_word)b, COH_CAP_INIT_CNODE, 0, 0, alloc_slot(), 1))
				return -1;
			ut_used[i] += 1ul << b;
		}
		coh_word slot = alloc_slot();
		if (coh_untyped_retype(bi->untyped.start + i, COH_OBJ_ARM_SMALL_PAGE, 0, COH_CAP_INIT_CNODE, 0, 0, slot, 1))
			return -1;
		ut_used[i] += 1ul << COH_PAGE_BITS;
		map_frame(slot, vaddr, 0 /* uncached */ | COH_ARM_EXECUTE_NEVER);
		return 0;
	}
	return -1;
}

/* ---- memory the Go side owns (private syscalls) ----------------------- */
static coh_word priv_va = 0x30000000000ul; /* device and DMA windows */
static void add_region(coh_word start, coh_word end);
static int page_backed(coh_word page, int insert);

/* priv_claim records a mapped window so mmap never hands it out again and
 * the lazy-backing path never maps over it. */
static void priv_claim(coh_word va, coh_word size)
{
	add_region(va, va + size);
	for (coh_word p = va; p < va + size; p += 4096)
		page_backed(p >> COH_PAGE_BITS, 1);
}

/* priv_map_device maps [paddr, paddr+len) of device memory (uncached) at
 * a fresh virtual range; 0 when a page is not in a device untyped or was
 * already handed out (device untypeds are only walked forwards). */
static coh_word priv_map_device(coh_word paddr, coh_word len)
{
	coh_word first = paddr & ~0xffful, end = (paddr + len + 0xfff) & ~0xffful;
	if (!len || end - first > (64ul << 20))
		return 0;
#ifdef COH_PLAT_BCM2711
	/* The RNG200 sits below the UART the shim maps first: it was mapped at
	 * boot, before the UART, and is handed out from there. */
	if (first == RNG200_PADDR && end - first == 4096)
		return rng200_mapped ? RNG200_VA + (paddr - first) : 0;
#endif
	coh_word va = priv_va;
	for (coh_word p = first; p < end; p += 4096)
		if (map_device(p, va + (p - first)) != 0)
			return 0;
	priv_claim(va, end - first);
	priv_va += end - first + 0x10000;
	return va + (paddr - first);
}

/* priv_dma_alloc allocates len bytes of physically contiguous, zeroed RAM
 * (consecutive frames of one untyped: the shim knows where each lands),
 * maps it and stores its physical address at *paddr_out. */
static coh_word priv_dma_alloc(coh_word len, coh_word *paddr_out)
{
	coh_word size = (len + 0xfff) & ~0xffful;
	unsigned int n = bi->untyped.end - bi->untyped.start;
	if (!len || size > (16ul << 20))
		return 0;
	if (n > MAX_UNTYPED)
		n = MAX_UNTYPED;
	for (unsigned int i = 0; i < n; i++) {
		coh_untyped_desc *d = &bi->untyped_list[i];
		coh_word off = (ut_used[i] + 0xfff) & ~0xffful;
		if (d->is_device || off + size > (1ul << d->size_bits))
			continue;
		coh_word va = priv_va;
		for (coh_word o = 0; o < size; o += 4096) {
			coh_word slot = alloc_slot();
			if (coh_untyped_retype(bi->untyped.start + i, COH_OBJ_ARM_SMALL_PAGE, 0, COH_CAP_INIT_CNODE, 0, 0, slot, 1))
				halt("DMA retype");
			ut_used[i] = off + o + 4096;
			map_frame(slot, va + o, COH_ARM_DEFAULT_VMATTRIBUTES);
		}
		priv_claim(va, size);
		priv_va += size + 0x10000;
		*paddr_out = d->paddr + off;
		return va;
	}
	return 0;
}

/* Lazily backed regions (mmap, Go's BSS and heap). */
#define MAX_REGIONS 512
static struct region { coh_word start, end; } regions[MAX_REGIONS];
static int nregions;
static coh_word mmap_next = 0x200000000000ul;

static void add_region(coh_word start, coh_word end)
{
	if (nregions < MAX_REGIONS)
		regions[nregions++] = (struct region){start, end};
	else
		halt("too many mmap regions");
}
static int in_region(coh_word a)
{
	for (int i = 0; i < nregions; i++)
		if (a >= regions[i].start && a < regions[i].end)
			return 1;
	return 0;
}

/* Backed pages, open-addressed by page number (for DONTNEED zeroing). */
#define PAGESET_BITS 16
static coh_word pageset[1u << PAGESET_BITS];
static int page_backed(coh_word page, int insert)
{
	coh_word h = (page * 0x9E3779B97F4A7C15ul) >> (64 - PAGESET_BITS);
	for (;; h = (h + 1) & ((1u << PAGESET_BITS) - 1)) {
		if (pageset[h] == page + 1)
			return 1;
		if (pageset[h] == 0) {
			if (insert)
				pageset[h] = page + 1;
			return 0;
		}
	}
}
static void back_page(coh_word va)
{
	va &= ~((1ul << COH_PAGE_BITS) - 1);
	if (page_backed(va >> COH_PAGE_BITS, 1))
		return;
	map_frame(alloc_obj(COH_OBJ_ARM_SMALL_PAGE, 0), va, COH_ARM_DEFAULT_VMATTRIBUTES);
}

/* user_mem backs [a, a+n) before the shim reads or writes Go memory there
 * (a buffer in a lazily backed region would otherwise fault the shim). */
static void user_mem(coh_word a, coh_word n)
{
	if (!n)
		return;
	for (coh_word p = a & ~0xffful; p < a + n; p += 4096)
		if (!page_backed(p >> COH_PAGE_BITS, 0) && in_region(p))
			back_page(p);
}

/* ---- QEMU fw_cfg: boot-time settings from the host -------------------
 * `-fw_cfg name=opt/cohesix/env,string="K=V K=V"` (scripts/qemu-run.sh)
 * passes space-separated settings: COHESIX_ECHO=0 turns off the shim's
 * serial echo (a program, e.g. cohsh, drives the console), the rest goes
 * into the Go root task's environment. */
#define FW_CFG_PADDR 0x09020000ul
#define FW_CFG_VA 0x10000001000ul
#define MAX_FW_ENV 8
static char fw_env[256];
static const char *fw_envp[MAX_FW_ENV + 1];
static int serial_echo = 1;

static unsigned int fw_be(volatile unsigned char *data, int n)
{
	unsigned int v = 0;
	while (n--)
		v = (v << 8) | *data;
	return v;
}
static void fw_select(unsigned short key)
{
	*(volatile unsigned short *)(FW_CFG_VA + 8) = (unsigned short)((key >> 8) | (key << 8));
}
static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* fw_cfg_env reads opt/cohesix/env when QEMU provides it. */
static void fw_cfg_env(void)
{
	volatile unsigned char *data = (volatile unsigned char *)FW_CFG_VA;
	if (map_device(FW_CFG_PADDR, FW_CFG_VA) != 0)
		return;
	fw_select(0); /* FW_CFG_SIGNATURE */
	if (fw_be(data, 4) != 0x51454d55u) /* "QEMU" */
		return;
	fw_select(0x19); /* FW_CFG_FILE_DIR */
	unsigned int n = fw_be(data, 4), size = 0, key = 0;
	for (unsigned int i = 0; i < n; i++) {
		char name[56];
		unsigned int sz = fw_be(data, 4), k = fw_be(data, 2);
		fw_be(data, 2);
		for (int j = 0; j < 56; j++)
			name[j] = (char)*data;
		name[55] = 0;
		if (str_eq(name, "opt/cohesix/env"))
			size = sz, key = k;
	}
	if (!key)
		return;
	if (size > sizeof fw_env - 1)
		size = sizeof fw_env - 1;
	fw_select((unsigned short)key);
	for (unsigned int i = 0; i < size; i++)
		fw_env[i] = (char)*data;
	int ne = 0;
	for (char *p = fw_env; *p && ne < MAX_FW_ENV;) {
		while (*p == ' ' || *p == '\n')
			*p++ = 0;
		if (!*p)
			break;
		char *w = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if (*p)
			*p++ = 0;
		if (str_eq(w, "COHESIX_ECHO=0"))
			serial_echo = 0;
		else
			fw_envp[ne++] = w;
	}
	puts_serial("cohesix-shim: fw_cfg opt/cohesix/env read\n");
}

/* ---- threads ---------------------------------------------------------- */
/* T_FUTEX..T_IRQ may carry a deadline (wake_due, timer_rearm). */
enum { T_FREE, T_RUN, T_FUTEX, T_SLEEP, T_EPOLL, T_IRQ, T_READ, T_DEAD };
static struct thread {
	int state;
	coh_cptr tcb, reply;
	coh_word futex;              /* T_FUTEX: the address; T_IRQ: index in irqs[] */
	unsigned long long deadline; /* 0: none */
	coh_word buf, len;           /* T_READ, T_EPOLL */
	coh_word ss_sp, ss_size;     /* sigaltstack; ss_size 0: disabled */
} threads[MAX_THREADS];
static coh_word epoll_data; /* eventfd's registered data */
static int eventfd_set;

static coh_word stack_idle[512] __attribute__((aligned(16)));
static coh_word ipc_idle_frame_va = 0x10001000000ul;

/* ---- interrupts (docs/SEL4.md "Interrupts", DECISIONS P86) ------------
 * With the counter and the physical timer exported to user mode
 * (KernelArmExportPTMRUser: COH_TIMER_EXPORTED) the shim sleeps instead of
 * polling. A notification bound to its own TCB receives the timer's IRQ
 * (armed for the earliest deadline of a blocked Go thread), the PL011's RX
 * IRQ (unmasked while a Go thread reads) and the virtio IRQs the Go side
 * waits for with COH_PRIV_WAIT_IRQ; with every Go thread blocked nothing
 * runs and seL4's own idle thread waits in WFI. Without the timer, or when
 * its IRQ cap cannot be had, the shim's idle thread polls as before
 * (interrupts off) and COH_PRIV_WAIT_IRQ answers ENOSYS (the Go drivers
 * poll). */
#define IRQ_TIMER 30 /* non-secure physical timer PPI; the kernel ticks on the virtual one (27) */
#ifdef COH_PLAT_BCM2711
#define IRQ_UART (32 + 121) /* UART0, GIC SPI 121 */
#define IRQ_VIRTIO_FIRST 0
#define IRQ_VIRTIO_N 0 /* no virtio on the Pi */
#else
#define IRQ_UART (32 + 1)          /* QEMU virt: PL011 on SPI 1 */
#define IRQ_VIRTIO_FIRST (32 + 16) /* QEMU virt: virtio-mmio transport i on SPI 16 + i */
#define IRQ_VIRTIO_N 32
#endif
#define PL011_IMSC (0x38 / 4)
#define PL011_RX_IRQS ((1u << 4) | (1u << 6)) /* RXIM, RTIM */
#define MAX_IRQS 8
/* Fault badges are thread ids + 1: notification badges sit above them. */
#define IRQ_BADGE_SHIFT 32
/* Serial input with the timer but no RX IRQ is polled this often (ns). */
#define SERIAL_POLL_NS 10000000ull
static struct irq {
	coh_word irq;
	coh_cptr handler;
	int pending, unacked; /* fired with no waiter; fired, not acknowledged yet */
} irqs[MAX_IRQS];
static int nirqs, irq_mode, timer_irq = -1, uart_irq = -1;
static coh_cptr irq_ntfn;
static unsigned long long timer_at; /* the deadline the timer is armed for; 0: off */

/* irq_attach returns irq's index in irqs[], getting its handler cap and
 * pointing it at the shim's notification the first time; -1 if refused. */
static int irq_attach(coh_word irq)
{
	for (int i = 0; i < nirqs; i++)
		if (irqs[i].irq == irq)
			return i;
	if (nirqs >= MAX_IRQS)
		return -1;
	coh_word handler = alloc_slot(), badged = alloc_slot();
	if (coh_irq_control_get(irq, handler) ||
	    coh_cnode_mint(COH_CAP_INIT_CNODE, badged, irq_ntfn, COH_RIGHTS_ALL, 1ul << (IRQ_BADGE_SHIFT + nirqs)) ||
	    coh_irq_set_notification(handler, badged))
		return -1;
	/* An IRQ that fired between Get and SetNotification was masked by the
	 * kernel undelivered ("Undelivered IRQ"): unmask it, so a line still
	 * high fires again, now into the notification. */
	coh_irq_ack(handler);
	irqs[nirqs] = (struct irq){irq, handler, 0, 0};
	return nirqs++;
}

#ifdef COH_TIMER_EXPORTED
static unsigned long long read_cntpct(void)
{
	unsigned long long v;
	asm volatile("isb\nmrs %0, cntpct_el0" : "=r"(v)::"memory");
	return v;
}
/* timer_set arms the physical timer for deadline (now_ns time; 0: off).
 * It compares against the physical counter, so the interval is converted
 * rather than the counters' offset assumed; capped at an hour (a spurious
 * wake re-arms). */
static void timer_set(unsigned long long deadline)
{
	timer_at = deadline;
	if (!deadline) {
		asm volatile("msr cntp_ctl_el0, %0\nisb" ::"r"(0ul) : "memory");
		return;
	}
	counter_now();
	unsigned long long d = deadline > now_ns ? deadline - now_ns : 0;
	if (d > 3600000000000ull)
		d = 3600000000000ull;
	unsigned long long t = read_cntpct() + (d / 1000000000ull) * cnt_frq + (d % 1000000000ull) * cnt_frq / 1000000000ull;
	asm volatile("msr cntp_cval_el0, %0\nmsr cntp_ctl_el0, %1\nisb" ::"r"(t), "r"(1ul) : "memory");
}
#define COH_HAVE_TIMER 1
#else
static void timer_set(unsigned long long deadline) { timer_at = deadline; }
#define COH_HAVE_TIMER 0
#endif

/* uart_rx_irq unmasks (on) or masks the PL011's receive interrupts: on
 * only while a Go thread waits in read, so unread input cannot storm. */
static void uart_rx_irq(int on)
{
	if (uart && uart_irq >= 0)
		uart[PL011_IMSC] = on ? PL011_RX_IRQS : 0;
}

/* irq_init turns interrupt mode on: notification bound to the shim, timer
 * IRQ attached (required), PL011 RX IRQ attached (else serial input is
 * polled by the timer). */
static const char *irq_init(void)
{
	if (!COH_HAVE_COUNTER || !COH_HAVE_TIMER)
		return "no exported timer (KernelArmExportPTMRUser)";
	irq_ntfn = alloc_obj(COH_OBJ_NOTIFICATION, 0);
	if (coh_tcb_bind_notification(COH_CAP_INIT_TCB, irq_ntfn))
		return "cannot bind a notification";
	timer_set(0);
	if ((timer_irq = irq_attach(IRQ_TIMER)) < 0)
		return "no timer IRQ cap";
	irq_mode = 1;
	if (uart) {
		uart[PL011_IMSC] = 0;
		uart_irq = irq_attach(IRQ_UART);
	}
	return 0;
}

static coh_cptr new_thread(int id, coh_word prio);
#include "syscalls.inc"

/* Linux start stack: argc, argv, envp, auxv (docs/SEL4.md). */
static coh_word build_stack(coh_word top, coh_word entry_phdr, coh_word phnum)
{
	/* The VM's Secure9P port is 9P's own (564); the console keeps 31337. */
	static const char *argv[] = {"roottask", "--serial", "stdio", "--console-listen", "0.0.0.0:31337",
				     "--secure9p-listen", "0.0.0.0:564", 0};
	static const char *envp[] = {"GODEBUG=asyncpreemptoff=1", "GOMAXPROCS=1", 0};
	const char **fwe = fw_envp;
	coh_word *sp = (coh_word *)(top - 4096);
	coh_word random = top - 64;
	int i = 0;
	int argc = 0;
	while (argv[argc])
		argc++;
	sp[i++] = (coh_word)argc;
	for (int a = 0; argv[a]; a++)
		sp[i++] = (coh_word)argv[a];
	sp[i++] = 0;
	for (int e = 0; envp[e]; e++)
		sp[i++] = (coh_word)envp[e];
	for (; *fwe; fwe++)
		sp[i++] = (coh_word)*fwe;
	sp[i++] = 0;
	sp[i++] = LINUX_AT_PHDR, sp[i++] = entry_phdr;
	sp[i++] = LINUX_AT_PHNUM, sp[i++] = phnum;
	sp[i++] = LINUX_AT_PHENT, sp[i++] = 56;
	sp[i++] = LINUX_AT_PAGESZ, sp[i++] = 4096;
	sp[i++] = LINUX_AT_RANDOM, sp[i++] = random;
	sp[i++] = LINUX_AT_HWCAP, sp[i++] = 3;
	sp[i++] = LINUX_AT_NULL, sp[i++] = 0;
	for (int r = 0; r < 16; r++)
		((unsigned int *)random)[r] = (unsigned int)(now_ns >> (r & 7)) * 2654435761u + r;
	return (coh_word)sp;
}

static coh_cptr new_thread(int id, coh_word prio)
{
	coh_cptr tcb = alloc_obj(COH_OBJ_TCB, 0);
	coh_word ep = alloc_slot();
	if (coh_cnode_mint(COH_CAP_INIT_CNODE, ep, fault_ep, COH_RIGHTS_ALL, (coh_word)id + 1))
		halt("mint fault endpoint");
	coh_cptr ipc = alloc_obj(COH_OBJ_ARM_SMALL_PAGE, 0);
	coh_word ipc_va = ipc_idle_frame_va + ((coh_word)id << COH_PAGE_BITS) * 2;
	map_frame(ipc, ipc_va, COH_ARM_DEFAULT_VMATTRIBUTES);
	if (coh_tcb_configure(tcb, ep, COH_CAP_INIT_CNODE, COH_CAP_INIT_VSPACE, ipc_va, ipc))
		halt("TCB_Configure");
	if (coh_tcb_set_priority(tcb, COH_CAP_INIT_TCB, prio))
		halt("TCB_SetPriority");
	threads[id].tcb = tcb;
	threads[id].reply = alloc_slot();
	threads[id].state = T_RUN;
	return tcb;
}

static void idle_loop(void)
{
	/* Runs only when every Go thread is blocked: asks the shim to advance. */
	for (;;)
		asm volatile("mov x8, %0\nmov x7, x8\nsvc #0" ::"r"((coh_word)LINUX_SYS_COH_IDLE) : "x0", "x1", "x2", "x3", "x4", "x5", "x7", "x8", "memory");
}

void coh_main(coh_bootinfo *bootinfo)
{
	bi = bootinfo;
	coh_ipc = (coh_word *)bi->ipc_buffer;
	next_slot = bi->empty.start;
	last_slot = bi->empty.end;
	puts_serial("cohesix-shim: seL4 root server up\n");
	fault_ep = alloc_obj(COH_OBJ_ENDPOINT, 0);
#ifdef COH_PLAT_BCM2711
	/* Devices in address order (map_device only moves forward): the RNG200 first. */
	rng200_mapped = map_device(RNG200_PADDR, RNG200_VA) == 0;
#endif
	if (map_device(UART_PADDR, 0x10000000000ul) == 0)
		uart = (volatile unsigned int *)0x10000000000ul;
	puts_serial(uart ? "cohesix-shim: PL011 mapped\n" : "cohesix-shim: PL011 not available, output via seL4_DebugPutChar\n");
	if (coh_tcb_set_priority(COH_CAP_INIT_TCB, COH_CAP_INIT_TCB, PRIO_SHIM))
		halt("set shim priority");
	/* Devices in address order: map_device only moves forward in an untyped. */
#ifndef COH_PLAT_BCM2711
	if (map_device(RTC_PADDR, RTC_VA) == 0 && ((volatile unsigned int *)RTC_VA)[0] > 1000000000u) {
		rtc = (volatile unsigned int *)RTC_VA;
		rtc_last = rtc[0];
		now_ns = rtc_last * 1000000000ull;
	}
#endif
	counter_init();
#ifndef COH_PLAT_BCM2711
	fw_cfg_env();
#endif

	/* Load the Go payload's PT_LOAD segments at their link addresses. A
	 * payload packed by sel4pack keeps the ELF and program headers raw
	 * after a 16-byte prefix, then one compressed block per PT_LOAD. */
	const unsigned char *elf = coh_payload_start, *blk = 0;
	unsigned long payload_len = coh_payload_end - coh_payload_start;
	if (payload_len > 16 && is_packed(coh_payload_start)) {
		elf = coh_payload_start + 16;
		blk = elf + rd64(coh_payload_start + 8);
		puts_serial("cohesix-shim: unpacking compressed payload\n");
	}
	const struct elf64_ehdr *eh = (const void *)elf;
	if (eh->e_ident[0] != 0x7f || eh->e_machine != 183)
		halt("payload is not an aarch64 ELF");
	coh_word phdr_va = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = (const void *)(elf + eh->e_phoff + i * eh->e_phentsize);
		if (ph->p_type == 6 /* PT_PHDR */)
			phdr_va = ph->p_vaddr;
		if (ph->p_type != 1 /* PT_LOAD */)
			continue;
		coh_word start = ph->p_vaddr & ~0xffful, end = (ph->p_vaddr + ph->p_memsz + 0xfff) & ~0xffful;
		add_region(start, end);
		/* Back the file-backed part now; BSS (32 MiB of it is Go's arena
		 * index on arm64) is backed lazily, zeroed, on VMFault. */
		for (coh_word va = start; va < ph->p_vaddr + ph->p_filesz; va += 4096)
			back_page(va);
		if (blk) {
			unsigned long clen = rd64(blk);
			if (blk + 8 + clen > coh_payload_end ||
			    unpack_block(blk + 8, clen, (unsigned char *)ph->p_vaddr, ph->p_filesz))
				halt("packed payload is corrupt");
			blk += 8 + clen;
		} else {
			memcpy((void *)ph->p_vaddr, coh_payload_start + ph->p_offset, ph->p_filesz);
		}
		if (!phdr_va && ph->p_offset == 0)
			phdr_va = ph->p_vaddr + eh->e_phoff;
	}
	/* Main thread stack: 1 MiB, lazily backed, top page backed now. */
	coh_word stack_top = 0x7f0000000000ul;
	add_region(stack_top - (1ul << 20), stack_top);
	back_page(stack_top - 4096);
	back_page(stack_top - 8192);

	coh_word regs[COH_UC_WORDS];
	memset(regs, 0, sizeof regs);
	regs[COH_UC_PC] = eh->e_entry;
	regs[COH_UC_SP] = build_stack(stack_top, phdr_va, eh->e_phnum);
	coh_cptr tcb = new_thread(0, PRIO_GO);

	/* The idle thread: lowest priority, runs shim code on its own stack. */
	coh_word iregs[COH_UC_WORDS];
	memset(iregs, 0, sizeof iregs);
	iregs[COH_UC_PC] = (coh_word)idle_loop;
	iregs[COH_UC_SP] = (coh_word)&stack_idle[512];
	coh_cptr itcb = new_thread(MAX_THREADS - 1, PRIO_IDLE);
	threads[MAX_THREADS - 1].state = T_DEAD; /* not a Go thread */
	const char *why = irq_init();
	puts_serial("cohesix-shim: seL4 ABI " COH_SEL4_ABI_NAME "\n");
	if (irq_mode) {
		puts_serial(uart_irq >= 0 ? "cohesix-shim: interrupts on (timer, serial RX, virtio): idle waits\n"
					  : "cohesix-shim: interrupts on (timer, virtio; serial RX polled): idle waits\n");
	} else {
		puts_serial("cohesix-shim: interrupts off (");
		puts_serial(why);
		puts_serial("): idle thread polls\n");
	}
	puts_serial(COH_HAVE_COUNTER ? "cohesix-shim: starting Go root task, clock=counter\n"
			: rtc ? "cohesix-shim: starting Go root task, clock=virtual+rtc\n"
			      : "cohesix-shim: starting Go root task, clock=virtual\n");
	/* In interrupt mode the idle thread is never started: nothing polls. */
	if ((!irq_mode && coh_tcb_write_registers(itcb, 1, iregs)) || coh_tcb_write_registers(tcb, 1, regs))
		halt("cannot start threads");
	serve(); /* never returns */
}
