/*
 * PVH boot: struct hvm_start_info (version 1) with the command line, the
 * initrd as the single module, the ACPI RSDP and the memory map, all
 * below 4 GiB as the protocol asks.
 */
#include <string.h>

#include "boot/loader.h"
#include "x86/e820.h"

#define HVM_START_MAGIC 0x336ec578
#define PVH_MEMMAP_MAX 64

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static int write_memmap(struct vm *vm, uint32_t *count)
{
	struct e820_entry e820[PVH_MEMMAP_MAX];
	struct hvm_memmap_entry map[PVH_MEMMAP_MAX];
	unsigned int n = e820_build(vm, e820, PVH_MEMMAP_MAX);
	for (unsigned int i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){ e820[i].addr, e820[i].size, e820[i].type, 0 };
	*count = n;
	return gmem_write(&vm->mem, VM_PVH_MEMMAP_ADDR, map, n * sizeof(map[0]));
}

int pvh_write_start_info(struct vm *vm, uint64_t initrd_addr, uint64_t initrd_size)
{
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = VM_CMDLINE_ADDR,
		.rsdp_paddr = VM_ACPI_ADDR,
		.memmap_paddr = VM_PVH_MEMMAP_ADDR,
	};
	if (initrd_size) {
		struct hvm_modlist_entry mod = { .paddr = initrd_addr, .size = initrd_size };
		si.nr_modules = 1;
		si.modlist_paddr = VM_PVH_MODLIST_ADDR;
		if (gmem_write(&vm->mem, VM_PVH_MODLIST_ADDR, &mod, sizeof(mod)) < 0)
			return -1;
	}
	if (write_memmap(vm, &si.memmap_entries) < 0)
		return -1;
	return gmem_write(&vm->mem, VM_PVH_INFO_ADDR, &si, sizeof(si));
}
