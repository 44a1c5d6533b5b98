/* The Go root task (static linux/arm64 ELF), embedded at build time.
 * COH_PAYLOAD is the path of the payload built by sel4-payload.sh. */
	.section .rodata.payload, "a"
	.balign	4096
	.global	coh_payload_start, coh_payload_end
coh_payload_start:
	.incbin	COH_PAYLOAD_STR
coh_payload_end:
