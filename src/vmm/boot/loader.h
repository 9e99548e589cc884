/*
 * Kernel loading: an ELF with a PVH entry note, or a Linux bzImage through
 * the 64-bit boot protocol, plus an initrd and the command line.
 */
#ifndef VMK_BOOT_LOADER_H
#define VMK_BOOT_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define BOOT_ERR_MAX 256

/* What the format-specific loaders hand back to the common code. */
struct boot_image {
	const char *path;
	const uint8_t *data;
	size_t size;
	uint64_t entry;
	uint64_t load_end;       /* first byte above the loaded kernel */
	uint64_t initrd_max;     /* highest end address the initrd may have */
	uint64_t cmdline_max;    /* longest command line the kernel takes */
	char err[BOOT_ERR_MAX];
};

/*
 * Loads cfg->kernel (and initrd, command line) into guest RAM and sets
 * vm->entry / vm->entry_pvh.  Call after devices exist (their virtio-mmio
 * slots go on the command line).  One-line error and -1 on failure.
 */
int boot_load(struct vm *vm);

/* Format loaders: 1 = not this format, 0 = loaded, -1 = error in img->err. */
int elf_load(struct vm *vm, struct boot_image *img);
int bzimage_probe(const struct boot_image *img);
int bzimage_load(struct vm *vm, struct boot_image *img);
int bzimage_write_zero_page(struct vm *vm, const struct boot_image *img,
			    uint64_t initrd_addr, uint64_t initrd_size, size_t cmdline_len);
int pvh_write_start_info(struct vm *vm, uint64_t initrd_addr, uint64_t initrd_size);

#endif
