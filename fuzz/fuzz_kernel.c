/*
 * libFuzzer target for the kernel image parsers (src/vmm/boot/elf.c,
 * bzimage.c, pvh.c), the way boot_load() (loader.c) drives them.
 *
 * The input is a kernel file.  It goes to elf_load(); when that says
 * "not ELF" (1) it goes to bzimage_load().  On success the boot
 * parameters are written as well: pvh_write_start_info() for an ELF,
 * bzimage_write_zero_page() for a bzImage, both of which build the e820
 * map with the real src/vmm/x86/e820.c.
 *
 * The fake VM has RAM_SIZE bytes of guest RAM at guest-physical 0, one
 * heap allocation made once and reused across runs (the loaders only
 * write guest RAM, never read it, so leftovers from earlier inputs change
 * nothing).  The input buffer libFuzzer hands over is exactly the file's
 * size, so ASan sees any read past the end of the file; the RAM buffer is
 * one allocation of exactly RAM_SIZE, so ASan sees writes past guest RAM.
 *
 * Besides "no crash", the target checks what the loaders promise:
 * a return of -1, 0 or 1 only; a one-line error on -1; on success an
 * entry point and a load end inside guest RAM, and a zero page whose
 * e820 table matches e820_build().
 *
 * FUZZ_VERBOSE=1 in the environment prints each input's outcome (to see
 * which seeds get how far).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/loader.h"
#include "gmem.h"
#include "log.h"
#include "vm.h"
#include "x86/e820.h"

#define RAM_SIZE (32ull << 20)
#define BZ_ENTRY (0x100000ull + 0x200)
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0

/* The PVH structures, as pvh.c writes them. */
#define HVM_START_MAGIC 0x336ec578

static struct vm vm;
static uint8_t *ram;
static bool verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	ram = calloc(1, RAM_SIZE);
	if (!ram || gmem_add_region(&vm.mem, 0, RAM_SIZE, ram) < 0)
		abort();
	vm.ram = ram;
	vm.ram_size = RAM_SIZE;
	vm.mem_fd = -1;
	vm.kvm_fd = vm.vm_fd = -1;
	return 0;
}

static void check_err(const struct boot_image *img, int r)
{
	if (r != -1 && r != 0 && r != 1)
		__builtin_trap();
	if (r == -1) {
		size_t n = strnlen(img->err, sizeof(img->err));
		if (n == 0 || n == sizeof(img->err) || memchr(img->err, '\n', n))
			__builtin_trap();
	}
}

static void check_loaded(const struct boot_image *img)
{
	if (img->entry >= RAM_SIZE || img->load_end > RAM_SIZE ||
	    img->load_end < 0x100000)
		__builtin_trap();
}

static void check_e820(const uint8_t *table, unsigned int n, size_t stride)
{
	struct e820_entry want[E820_MAX_ENTRIES];
	unsigned int m = e820_build(&vm, want, E820_MAX_ENTRIES);

	if (n != m)
		__builtin_trap();
	for (unsigned int i = 0; i < n; i++) {
		uint64_t addr, size;
		uint32_t type;
		memcpy(&addr, table + i * stride, 8);
		memcpy(&size, table + i * stride + 8, 8);
		memcpy(&type, table + i * stride + 16, 4);
		if (addr != want[i].addr || size != want[i].size || type != want[i].type)
			__builtin_trap();
	}
}

static void do_elf(struct boot_image *img)
{
	check_loaded(img);
	if (!vm.entry_pvh || img->initrd_max != UINT32_MAX)
		__builtin_trap();
	/* once without an initrd, once with one (the module list) */
	if (pvh_write_start_info(&vm, 0, 0) != 0)
		__builtin_trap();
	if (pvh_write_start_info(&vm, 0x1000000, 0x1234) != 0)
		__builtin_trap();
	uint32_t magic, nr_modules, entries;
	memcpy(&magic, ram + VM_PVH_INFO_ADDR, 4);
	memcpy(&nr_modules, ram + VM_PVH_INFO_ADDR + 12, 4);
	memcpy(&entries, ram + VM_PVH_INFO_ADDR + 48, 4);
	if (magic != HVM_START_MAGIC || nr_modules != 1)
		__builtin_trap();
	check_e820(ram + VM_PVH_MEMMAP_ADDR, entries, 24);
}

static void do_bzimage(struct boot_image *img, const uint8_t *data, size_t size)
{
	check_loaded(img);
	if (vm.entry_pvh || img->entry != BZ_ENTRY)
		__builtin_trap();
	int r = bzimage_write_zero_page(&vm, img, 0x1800000, 0x4321, 12);
	if (r != 0) {
		/* only a setup header longer than the file may refuse */
		if (r != -1 || 0x202u + data[0x201] <= size)
			__builtin_trap();
		return;
	}
	const uint8_t *bp = ram + VM_ZERO_PAGE_ADDR;
	if (bp[0x210] != 0xff || memcmp(bp + 0x1f1, data + 0x1f1, 0x10) != 0)
		__builtin_trap();
	check_e820(bp + BP_E820_TABLE, bp[BP_E820_ENTRIES], 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_image img = { .path = "fuzz", .data = data, .size = size };

	vm.entry = 0;
	vm.entry_pvh = false;
	int r = elf_load(&vm, &img);
	check_err(&img, r);
	if (verbose && r != 1)
		fprintf(stderr, "elf: %d %s\n", r, r ? img.err : "loaded");
	if (r == 0) {
		do_elf(&img);
		return 0;
	}
	if (r == -1)
		return 0;

	/* not ELF: a bzImage, as load_kernel() tries next */
	memset(&img, 0, sizeof(img));
	img = (struct boot_image){ .path = "fuzz", .data = data, .size = size };
	vm.entry_pvh = true;    /* bzimage_load must clear it */
	int probe = bzimage_probe(&img);
	r = bzimage_load(&vm, &img);
	check_err(&img, r);
	if ((r == 1) != !probe)
		__builtin_trap();
	if (verbose)
		fprintf(stderr, "bzimage: %d %s\n", r, r ? img.err : "loaded");
	if (r == 0)
		do_bzimage(&img, data, size);
	return 0;
}
