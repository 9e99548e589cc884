/*
 * ACPI tables for the guest, written into guest RAM by vmx before the
 * vCPUs start.  The guest is a hardware-reduced ACPI platform (no PM
 * timer, no SCI, no GPEs): power-off and reset go through the registers
 * of devices/acpi_pm.h.
 *
 * Layout in the reserved BIOS area 0xe0000-0xfffff: the RSDP (revision 2)
 * at VM_ACPI_ADDR, where both a boot_params.acpi_rsdp_addr / PVH
 * rsdp_paddr pointer and a legacy scan of 0xe0000-0xfffff find it; then
 * DSDT, FADT, MADT and XSDT, each 16-byte aligned.
 */
#ifndef VMK_X86_ACPI_H
#define VMK_X86_ACPI_H

#define ACPI_RSDP_ADDR VM_ACPI_ADDR  /* from vm.h */
#define ACPI_MAX_VCPUS 254      /* 8-bit APIC ids, and the IOAPIC takes id nr_vcpus */

struct vm;

/*
 * Writes the tables for vm->nr_vcpus vCPUs and vm->virtio[0..nr_virtio)
 * through vm->mem.  0, or -1 if the vCPU count is out of range, a virtio
 * slot is above 4 GiB, guest RAM does not cover the area, or memory is
 * short.
 */
int acpi_build(struct vm *vm);

#endif
