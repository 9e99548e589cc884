/*
 * Real-mode start-up code for application processors (smp guest).
 *
 * The bootstrap processor copies the bytes between trampoline_start and
 * trampoline_end to a free page below 1 MiB and sends that page number as
 * the SIPI vector.  The AP starts here in real mode with CS = page << 8
 * and IP = 0.  All references inside the trampoline are CS/DS-relative
 * offsets, so the copy runs wherever it lands: it loads the guest's GDT
 * (whose absolute address is stored below), turns on protection and jumps
 * straight to ap_entry32 in the guest image (entry.S), which continues to
 * long mode exactly as the bootstrap processor did.
 */
	.section .rodata.trampoline, "a"
	.code16
	.balign 16
	.globl trampoline_start
trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (tr_gdt_desc - trampoline_start)
	movl %cr0, %eax
	orl $1, %eax			/* PE */
	movl %eax, %cr0
	ljmpl $0x08, $ap_entry32	/* 32-bit code selector of gdt */

	.balign 8
tr_gdt_desc:
	.word 4 * 8 - 1			/* gdt in entry.S has four entries */
	.long gdt
	.globl trampoline_end
trampoline_end:
	.code64

	.section .note.GNU-stack, "", @progbits
