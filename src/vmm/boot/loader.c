/*
 * Boot loading, the part common to both formats: map the kernel file,
 * hand it to the ELF or bzImage loader, place the initrd at the top of
 * low RAM (above the kernel, below what the kernel can reach), and write
 * the command line with one virtio_mmio.device= entry per device, so a
 * kernel built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES finds them even
 * without ACPI.
 */
#include "boot/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct mapped_file {
	const uint8_t *data;
	size_t size;
};

static int map_file(const char *what, const char *path, struct mapped_file *f)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		log_error("cannot open %s '%s': %s", what, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		log_error("%s '%s' is %s", what, path,
			  S_ISREG(st.st_mode) ? "empty" : "not a regular file");
		close(fd);
		return -1;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		log_error("cannot read %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	f->data = p;
	f->size = (size_t)st.st_size;
	return 0;
}

static void unmap_file(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
}

static int load_kernel(struct vm *vm, struct boot_image *img)
{
	int r = elf_load(vm, img);
	if (r == 1)
		r = bzimage_load(vm, img);
	if (r == 1)
		snprintf(img->err, sizeof(img->err), "not an ELF or bzImage kernel");
	if (r != 0) {
		log_error("kernel '%s': %s", img->path, img->err);
		return -1;
	}
	return 0;
}

static int write_cmdline(struct vm *vm, const struct boot_image *img, size_t *len)
{
	char *dst = gmem_ptr(&vm->mem, VM_CMDLINE_ADDR, VM_CMDLINE_MAX);
	if (!dst)
		return -1;
	size_t n = (size_t)snprintf(dst, VM_CMDLINE_MAX, "%s", vm->cfg->cmdline);
	for (unsigned int i = 0; i < vm->nr_virtio && n < VM_CMDLINE_MAX; i++)
		n += (size_t)snprintf(dst + n, VM_CMDLINE_MAX - n,
				      "%svirtio_mmio.device=4K@0x%llx:%u", n ? " " : "",
				      (unsigned long long)vm->virtio[i].base, vm->virtio[i].irq);
	if (n >= VM_CMDLINE_MAX || n > img->cmdline_max) {
		log_error("kernel command line is %zu bytes, the kernel takes at most %llu",
			  n, (unsigned long long)img->cmdline_max);
		return -1;
	}
	*len = n;
	return 0;
}

/* Highest page-aligned spot for the initrd in low RAM, above the kernel. */
static int place_initrd(struct vm *vm, const struct boot_image *img, uint64_t size,
			uint64_t *addr)
{
	uint64_t top = vm->ram_size < VM_MMIO_GAP_START ? vm->ram_size : VM_MMIO_GAP_START;
	if (top > img->initrd_max)
		top = img->initrd_max;
	uint64_t floor = (img->load_end + 0xfff) & ~0xfffULL;
	if (size > top || ((top - size) & ~0xfffULL) < floor) {
		log_error("initrd '%s' (%llu KiB) does not fit in %llu MiB of guest RAM above the kernel",
			  vm->cfg->initrd, (unsigned long long)(size >> 10),
			  (unsigned long long)(vm->ram_size >> 20));
		return -1;
	}
	*addr = (top - size) & ~0xfffULL;
	return 0;
}

static int load_initrd(struct vm *vm, const struct boot_image *img, uint64_t *addr,
		       uint64_t *size)
{
	struct mapped_file f = { 0 };
	*addr = *size = 0;
	if (!vm->cfg->initrd)
		return 0;
	if (map_file("initrd", vm->cfg->initrd, &f) < 0)
		return -1;
	int r = place_initrd(vm, img, f.size, addr);
	if (r == 0) {
		gmem_write(&vm->mem, *addr, f.data, f.size);
		*size = f.size;
	}
	unmap_file(&f);
	return r;
}

int boot_load(struct vm *vm)
{
	struct mapped_file kf = { 0 };
	if (map_file("kernel", vm->cfg->kernel, &kf) < 0)
		return -1;
	struct boot_image img = { .path = vm->cfg->kernel, .data = kf.data, .size = kf.size };
	uint64_t initrd_addr, initrd_size;
	size_t cmdline_len;
	int r = -1;
	if (load_kernel(vm, &img) == 0 && write_cmdline(vm, &img, &cmdline_len) == 0 &&
	    load_initrd(vm, &img, &initrd_addr, &initrd_size) == 0) {
		r = vm->entry_pvh ? pvh_write_start_info(vm, initrd_addr, initrd_size)
				  : bzimage_write_zero_page(vm, &img, initrd_addr, initrd_size,
							    cmdline_len);
		if (r < 0)
			log_error("cannot write boot parameters into guest RAM");
		vm->entry = img.entry;
	}
	unmap_file(&kf);
	return r;
}
