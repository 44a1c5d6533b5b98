/* Entry of the seL4 root server: the kernel passes the boot info in x0. */
	.section .text.start, "ax"
	.global _start
_start:
	adrp	x1, coh_stack_top
	add	x1, x1, :lo12:coh_stack_top
	mov	sp, x1
	bl	coh_main
1:	b	1b

	.bss
	.balign	16
	.space	65536
coh_stack_top:
