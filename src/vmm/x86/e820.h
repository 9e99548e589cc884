/*
 * The BIOS-style e820 memory map vmx hands to the guest, both in the
 * Linux zero page and as the PVH memory map.  It is a pure function of
 * the VM's RAM size and the fixed guest-physical layout in vm.h: low RAM
 * up to the EBDA, the EBDA/BIOS area reserved up to 1 MiB (it holds the
 * MP and ACPI tables), RAM from 1 MiB to the 32-bit MMIO gap, and any
 * RAM beyond the gap starting at 4 GiB.
 */
#ifndef VMK_X86_E820_H
#define VMK_X86_E820_H

#include <stdint.h>

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX_ENTRIES 4      /* e820_build never needs more */

struct vm;

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

/*
 * Fills out[0..max) with vm's memory map in ascending address order and
 * returns the number of entries written.  Entries that do not fit in max
 * are left out, so pass max >= E820_MAX_ENTRIES.
 */
unsigned int e820_build(const struct vm *vm, struct e820_entry *out, unsigned int max);

#endif
