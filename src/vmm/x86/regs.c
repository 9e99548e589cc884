/*
 * Initial x86 CPU state.
 *
 * Two ways in.  The Linux 64-bit boot protocol wants long mode with
 * paging on, an identity map covering the kernel, the zero page and the
 * command line, a flat GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18),
 * and RSI pointing at boot_params.  PVH wants 32-bit protected mode with
 * paging off, flat segments, and EBX pointing at hvm_start_info.  Both
 * get the same GDT in guest memory so that the hidden segment state KVM
 * loads matches what a reload from the table would give.
 */
#include "x86/regs.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_NE 0x20ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define X86_EFER_LME 0x100ULL
#define X86_EFER_LMA 0x400ULL

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI 0x4

#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define BOOT_TSS 0x20
#define PDE_PRESENT_RW_PS 0x83ULL
#define PTE_PRESENT_RW 0x3ULL

/* GDT descriptor from flags (bits 52-55 G/DB/L, 40-47 access), base and limit. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

/* KVM wants the limit in bytes: scale it when the granularity bit is set. */
static struct kvm_segment segment_from(uint64_t desc, uint16_t selector)
{
	struct kvm_segment seg = {
		.base = (uint32_t)(((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000)),
		.limit = (uint32_t)(((desc >> 32) & 0xf0000) | (desc & 0xffff)),
		.selector = selector,
		.type = (uint8_t)((desc >> 40) & 0xf),
		.present = (uint8_t)((desc >> 47) & 1),
		.dpl = (uint8_t)((desc >> 45) & 3),
		.db = (uint8_t)((desc >> 54) & 1),
		.s = (uint8_t)((desc >> 44) & 1),
		.l = (uint8_t)((desc >> 53) & 1),
		.g = (uint8_t)((desc >> 55) & 1),
	};
	if (seg.g)
		seg.limit = (seg.limit << 12) | 0xfff;
	return seg;
}

static int set_msrs(int fd)
{
	static const struct { uint32_t index; uint64_t value; } boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },            /* fast string operations */
		{ MSR_MTRR_DEF_TYPE, (1 << 11) | 6 },   /* MTRRs on, default write-back */
	};
	const unsigned int n = sizeof(boot_msrs) / sizeof(boot_msrs[0]);
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
	if (!msrs)
		return -1;
	msrs->nmsrs = n;
	for (unsigned int i = 0; i < n; i++) {
		msrs->entries[i].index = boot_msrs[i].index;
		msrs->entries[i].data = boot_msrs[i].value;
	}
	int r = ioctl(fd, KVM_SET_MSRS, msrs);
	free(msrs);
	if (r != (int)n) {
		log_error("KVM_SET_MSRS set %d of %u boot MSRs", r, n);
		return -1;
	}
	return 0;
}

static void lapic_set_lvt_mode(struct kvm_lapic_state *lapic, int reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

static int set_lapic_lints(int fd)
{
	struct kvm_lapic_state lapic;
	if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		return -1;
	lapic_set_lvt_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_lvt_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
	return ioctl(fd, KVM_SET_LAPIC, &lapic);
}

int regs_setup_common(int vcpu_fd)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (set_msrs(vcpu_fd) < 0)
		return -1;
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0 || set_lapic_lints(vcpu_fd) < 0) {
		log_error("cannot set FPU/LAPIC state: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* GDT at VM_GDT_ADDR: null, null, code, data, TSS.  Code is 64-bit or 32-bit. */
static int write_gdt(struct vm *vm, bool long_mode, uint64_t gdt[5])
{
	gdt[0] = gdt[1] = 0;
	gdt[2] = long_mode ? gdt_entry(0xa09b, 0, 0xfffff) : gdt_entry(0xc09b, 0, 0xfffff);
	gdt[3] = gdt_entry(0xc093, 0, 0xfffff);
	gdt[4] = gdt_entry(0x008b, 0, 0x67);
	return gmem_write(&vm->mem, VM_GDT_ADDR, gdt, 5 * sizeof(gdt[0]));
}

/* PML4 -> one PDPT -> four PDs of 2 MiB pages: identity map of the low 4 GiB. */
static int write_page_tables(struct vm *vm)
{
	uint64_t *pml4 = gmem_ptr(&vm->mem, VM_PML4_ADDR, 6 * 4096);
	if (!pml4)
		return -1;
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	memset(pml4, 0, 6 * 4096);
	pml4[0] = (VM_PML4_ADDR + 0x1000) | PTE_PRESENT_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (VM_PML4_ADDR + 0x2000 + i * 0x1000) | PTE_PRESENT_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PDE_PRESENT_RW_PS;
	return 0;
}

static void set_segments(struct kvm_sregs *s, const uint64_t gdt[5])
{
	s->gdt.base = VM_GDT_ADDR;
	s->gdt.limit = 5 * 8 - 1;
	s->cs = segment_from(gdt[2], BOOT_CS);
	s->ds = s->es = s->fs = s->gs = s->ss = segment_from(gdt[3], BOOT_DS);
	s->tr = segment_from(gdt[4], BOOT_TSS);
	s->tr.type = 0xb;  /* busy 32-bit TSS, as VMX entry requires */
}

int regs_setup_boot(struct vm *vm, int vcpu_fd)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = vm->entry, .rflags = 0x2 };
	uint64_t gdt[5];
	bool long_mode = !vm->entry_pvh;

	if (write_gdt(vm, long_mode, gdt) < 0 || (long_mode && write_page_tables(vm) < 0)) {
		log_error("guest RAM too small for boot structures");
		return -1;
	}
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	set_segments(&sregs, gdt);
	if (long_mode) {
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
		sregs.cr3 = VM_PML4_ADDR;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = X86_EFER_LME | X86_EFER_LMA;
		regs.rsp = regs.rbp = VM_BOOT_STACK;
		regs.rsi = VM_ZERO_PAGE_ADDR;
	} else {
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = VM_PVH_INFO_ADDR;
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		log_error("cannot set boot registers: %s", strerror(errno));
		return -1;
	}
	return 0;
}
