/*
 * Linux bzImage through the 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst).  The real-mode setup code is skipped: vmx fills the zero
 * page (boot_params) itself, loads the protected-mode kernel at 1 MiB and
 * enters it at load address + 0x200 in long mode.  The kernel's own
 * decompressor then relocates itself, so the RAM it needs is its
 * preferred address plus init_size, which is checked up front.
 */
#include <stdio.h>
#include <string.h>

#include "boot/loader.h"
#include "x86/e820.h"

/* Setup header offsets in the image and in boot_params. */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_JUMP_END 0x201
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128

#define HDRS_MAGIC 0x53726448  /* "HdrS" */
#define XLF_KERNEL_64 0x1
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x2
#define LOADED_HIGH 0x1
#define KEEP_SEGMENTS 0x40
#define BZIMAGE_LOAD_ADDR 0x100000ULL

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int bzimage_probe(const struct boot_image *img)
{
	return img->size > HDR_INIT_SIZE + 4 && rd32(img->data + HDR_MAGIC) == HDRS_MAGIC;
}

static int check_protocol(struct boot_image *img)
{
	uint16_t version = rd16(img->data + HDR_VERSION);
	if (version < 0x20c || !(img->data[HDR_XLOADFLAGS] & XLF_KERNEL_64)) {
		snprintf(img->err, sizeof(img->err),
			 "bzImage boot protocol %u.%02u has no 64-bit entry (needs 2.12 with XLF_KERNEL_64)",
			 version >> 8, version & 0xff);
		return -1;
	}
	return 0;
}

/* The decompressor runs at max(load address, pref_address) and needs init_size bytes there. */
static int check_room(struct vm *vm, struct boot_image *img)
{
	uint64_t pref = rd64(img->data + HDR_PREF_ADDRESS);
	uint64_t init_size = rd32(img->data + HDR_INIT_SIZE);
	uint64_t base = pref > BZIMAGE_LOAD_ADDR ? pref : BZIMAGE_LOAD_ADDR;
	img->load_end = base + init_size;
	if (!gmem_ptr(&vm->mem, base, init_size)) {
		snprintf(img->err, sizeof(img->err),
			 "kernel needs %llu MiB of guest RAM to decompress, the VM has %llu MiB",
			 (unsigned long long)((img->load_end + (1 << 20) - 1) >> 20),
			 (unsigned long long)(vm->ram_size >> 20));
		return -1;
	}
	return 0;
}

int bzimage_load(struct vm *vm, struct boot_image *img)
{
	if (!bzimage_probe(img))
		return 1;
	if (check_protocol(img) < 0 || check_room(vm, img) < 0)
		return -1;
	unsigned int setup_sects = img->data[HDR_SETUP_SECTS] ? img->data[HDR_SETUP_SECTS] : 4;
	uint64_t setup_size = (uint64_t)(setup_sects + 1) * 512;
	if (setup_size >= img->size) {
		snprintf(img->err, sizeof(img->err), "bzImage is truncated after its setup code");
		return -1;
	}
	if (gmem_write(&vm->mem, BZIMAGE_LOAD_ADDR, img->data + setup_size,
		       img->size - setup_size) < 0) {
		snprintf(img->err, sizeof(img->err), "kernel does not fit in guest RAM");
		return -1;
	}
	/* A payload larger than init_size claims says: keep the initrd above it too. */
	if (BZIMAGE_LOAD_ADDR + (img->size - setup_size) > img->load_end)
		img->load_end = BZIMAGE_LOAD_ADDR + (img->size - setup_size);
	uint32_t initrd_max = rd32(img->data + HDR_INITRD_ADDR_MAX);
	bool above_4g = img->data[HDR_XLOADFLAGS] & XLF_CAN_BE_LOADED_ABOVE_4G;
	img->initrd_max = above_4g ? UINT64_MAX : (uint64_t)initrd_max + 1;
	img->cmdline_max = rd32(img->data + HDR_CMDLINE_SIZE);
	img->entry = BZIMAGE_LOAD_ADDR + 0x200;
	vm->entry_pvh = false;
	return 0;
}

static void write_e820(struct vm *vm, uint8_t *bp)
{
	struct e820_entry map[BP_E820_MAX];
	unsigned int n = e820_build(vm, map, BP_E820_MAX);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(bp + BP_E820_TABLE, map, n * sizeof(map[0]));
}

int bzimage_write_zero_page(struct vm *vm, const struct boot_image *img,
			    uint64_t initrd_addr, uint64_t initrd_size, size_t cmdline_len)
{
	uint8_t *bp = gmem_ptr(&vm->mem, VM_ZERO_PAGE_ADDR, 4096);
	if (!bp)
		return -1;
	memset(bp, 0, 4096);
	/* The setup header runs from 0x1f1 to 0x202 + the byte at 0x201. */
	size_t hdr_end = HDR_JUMP_END + 1 + img->data[HDR_JUMP_END];
	if (hdr_end > img->size || hdr_end > 4096)
		return -1;
	memcpy(bp + HDR_SETUP_SECTS, img->data + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	bp[HDR_TYPE_OF_LOADER] = 0xff;
	bp[HDR_LOADFLAGS] = (uint8_t)((bp[HDR_LOADFLAGS] | LOADED_HIGH) & ~KEEP_SEGMENTS);
	wr32(bp + HDR_CODE32_START, (uint32_t)BZIMAGE_LOAD_ADDR);
	wr32(bp + HDR_CMD_LINE_PTR, (uint32_t)VM_CMDLINE_ADDR);
	wr32(bp + BP_EXT_CMD_LINE_PTR, 0);
	wr32(bp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	wr32(bp + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	wr32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
	wr32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	if (rd16(img->data + HDR_VERSION) >= 0x20e)
		wr64(bp + BP_ACPI_RSDP_ADDR, VM_ACPI_ADDR);
	(void)cmdline_len;
	write_e820(vm, bp);
	return 0;
}
