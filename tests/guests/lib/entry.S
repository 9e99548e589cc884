/*
 * Boot stub shared by every test guest.
 *
 * A PVH loader (QEMU's or vmx's) enters _start32 in 32-bit protected mode
 * with paging off and EBX holding the physical address of struct
 * hvm_start_info.  We load our own GDT, switch to long mode using page
 * tables that are built at link time (identity map of the low 4 GiB with
 * 2 MiB pages, the top GiB uncached for MMIO), clear .bss, set a stack and
 * call guest_start(start_info) in C.
 *
 * Everything that could be a loop at run time is done by the assembler
 * instead: under an emulating KVM each guest instruction costs about a
 * microsecond, so the stub executes only a few dozen instructions.
 *
 * Application processors (smp guest) come here through ap_entry32 from
 * the real-mode trampoline (trampoline.S) with our GDT already loaded;
 * they share the long-mode switch, take a stack of their own and call the
 * function pointer ap_entry_fn.
 *
 * The file also holds the 256 interrupt entry stubs and the common
 * interrupt path that calls isr_dispatch() in idt.c.
 */

#define SEL_CODE32 0x08
#define SEL_DATA   0x10
#define SEL_CODE64 0x18

#define BOOT_STACK_SIZE 16384
#define AP_STACK_SIZE   4096
#define AP_MAX          64

/* ---- PVH entry note: owner "Xen", type 18, 32-bit physical entry ---- */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz */
	.long 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long _start32
	.balign 4

/* ---- 32-bit entry ---- */
	.section .text.entry, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	movl %ebx, %esi			/* keep start_info: ESI survives below */
	lgdt gdt_desc
	ljmp $SEL_CODE32, $1f
1:	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $boot_stack_top, %esp
	xorl %ebp, %ebp			/* 0: bootstrap processor */
	jmp enter_long_mode

/*
 * Application processor entry from the trampoline: protected mode, CS is
 * our SEL_CODE32, the other segment registers still hold real-mode values.
 */
	.globl ap_entry32
ap_entry32:
	cli
	cld
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $1, %ebp			/* 1: application processor */
	/* fall through */

enter_long_mode:
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	andl $0x9fffffff, %eax		/* caches on: clear CD and NW */
	orl $0x80000001, %eax		/* PG | PE */
	movl %eax, %cr0
	ljmp $SEL_CODE64, $entry64

	.code64
entry64:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	testl %ebp, %ebp
	jnz ap64

	/* bootstrap processor */
	movl %esi, %ebx			/* zero-extends start_info into RBX */
	movq $boot_stack_top, %rsp
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movq %rbx, %rdi
	xorl %ebp, %ebp
	call guest_start
2:	cli
	hlt
	jmp 2b

ap64:
	movl $1, %eax
	lock xaddl %eax, ap_next	/* EAX = this AP's index */
	cmpl $AP_MAX, %eax
	jae 3f
	movl %eax, %edi
	leal 1(%eax), %ecx
	imull $AP_STACK_SIZE, %ecx
	movq $ap_stacks, %rsp
	addq %rcx, %rsp
	xorl %ebp, %ebp
	movq ap_entry_fn, %rax
	testq %rax, %rax
	jz 3f
	call *%rax
3:	cli
	hlt
	jmp 3b

/* ---- interrupt entry: one stub per vector, then a common path ---- */
	.text
	.code64
	.globl isr_common
isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi			/* struct int_frame * */
	cld
	call isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector and error code */
	iretq

/* Each stub is 16 bytes; vectors 8, 10-14, 17, 21, 29 and 30 get their
 * error code from the CPU, the others push a zero in its place. */
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if !((vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30))
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

/* ---- data: GDT, page tables, stacks ---- */
	.section .data
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code, flat */
	.quad 0x00cf92000000ffff	/* 0x10: data, flat */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
gdt_end:
	.balign 8
	.word 0
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
	.long 0				/* upper base for a 64-bit lgdt */

	.globl ap_next
ap_next:
	.long 0
	.balign 8
	.globl ap_entry_fn
ap_entry_fn:
	.quad 0

	.section .data.pagetables, "aw"
	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + 0x3		/* present, writable */
	.fill 511, 8, 0
pdpt:
	.quad pd0 + 0x3
	.quad pd1 + 0x3
	.quad pd2 + 0x3
	.quad pd3 + 0x3
	.fill 508, 8, 0
	/* 2 MiB pages, present|writable|accessed|dirty|large: 0xe3 */
	.set addr, 0
pd0:
	.rept 512
	.quad addr + 0xe3
	.set addr, addr + 0x200000
	.endr
pd1:
	.rept 512
	.quad addr + 0xe3
	.set addr, addr + 0x200000
	.endr
pd2:
	.rept 512
	.quad addr + 0xe3
	.set addr, addr + 0x200000
	.endr
	/* 3..4 GiB: MMIO (virtio, IOAPIC, LAPIC), also PCD|PWT: 0xfb */
pd3:
	.rept 512
	.quad addr + 0xfb
	.set addr, addr + 0x200000
	.endr

	.section .noinit, "aw", @nobits
	.balign 4096
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip BOOT_STACK_SIZE
boot_stack_top:
	.globl ap_stacks
ap_stacks:
	.skip AP_STACK_SIZE * AP_MAX

	.section .note.GNU-stack, "", @progbits
