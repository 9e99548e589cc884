/*
 * Intel MultiProcessor Specification 1.4 tables for guests that find
 * their CPUs and interrupt routing that way rather than through ACPI:
 * the MP floating pointer structure at VM_MPTABLE_ADDR (the last KiB of
 * base memory, which the MP spec tells the OS to search) and the MP
 * configuration table right after it, in the e820-reserved EBDA area.
 */
#ifndef VMK_X86_MPTABLE_H
#define VMK_X86_MPTABLE_H

#define MPTABLE_MAX_VCPUS 254   /* 8-bit APIC ids, and the IOAPIC takes id nr_vcpus */

struct vm;

/*
 * Writes both structures through vm->mem: one processor per vCPU (APIC
 * id = index, vCPU 0 the bootstrap processor), one ISA bus, the IOAPIC
 * with id nr_vcpus, ISA IRQs 0-15 and each virtio slot's irq routed to
 * the same IOAPIC pin, ExtINT on LINT0 and NMI on LINT1.  0, or -1 on a
 * bad vCPU count or if guest RAM does not cover the area.
 */
int mptable_build(struct vm *vm);

#endif
