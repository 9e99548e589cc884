/*
 * ELF kernels with a PVH entry.
 *
 * The ELF program headers say where each segment goes in guest-physical
 * memory (p_paddr); the entry is the 32-bit address in the Xen ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY.  Both 32- and 64-bit ELF files are accepted,
 * read through one 64-bit view of their headers.  Every offset and size
 * in the file is checked against the file and against guest RAM before
 * use: a kernel image is input, not trusted code.
 */
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "boot/loader.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct elf_view {
	const uint8_t *data;
	size_t size;
	bool is64;
	uint64_t phoff;
	unsigned int phnum, phentsize;
};

static bool in_file(const struct elf_view *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

static int parse_header(struct elf_view *e, struct boot_image *img)
{
	e->data = img->data;
	e->size = img->size;
	if (img->size < EI_NIDENT || memcmp(img->data, ELFMAG, SELFMAG) != 0)
		return 1;
	const uint8_t *id = img->data;
	e->is64 = id[EI_CLASS] == ELFCLASS64;
	if ((id[EI_CLASS] != ELFCLASS64 && id[EI_CLASS] != ELFCLASS32) ||
	    id[EI_DATA] != ELFDATA2LSB) {
		snprintf(img->err, sizeof(img->err), "not a little-endian 32/64-bit ELF");
		return -1;
	}
	if (e->is64 ? img->size < sizeof(Elf64_Ehdr) : img->size < sizeof(Elf32_Ehdr)) {
		snprintf(img->err, sizeof(img->err), "truncated ELF header");
		return -1;
	}
	uint16_t machine;
	if (e->is64) {
		Elf64_Ehdr h;
		memcpy(&h, img->data, sizeof(h));
		machine = h.e_machine;
		e->phoff = h.e_phoff;
		e->phnum = h.e_phnum;
		e->phentsize = h.e_phentsize;
	} else {
		Elf32_Ehdr h;
		memcpy(&h, img->data, sizeof(h));
		machine = h.e_machine;
		e->phoff = h.e_phoff;
		e->phnum = h.e_phnum;
		e->phentsize = h.e_phentsize;
	}
	if (machine != EM_X86_64 && machine != EM_386) {
		snprintf(img->err, sizeof(img->err), "ELF is not for x86 (machine %u)", machine);
		return -1;
	}
	size_t want = e->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (e->phnum == 0 || e->phentsize != want ||
	    !in_file(e, e->phoff, (uint64_t)e->phnum * e->phentsize)) {
		snprintf(img->err, sizeof(img->err), "bad or truncated ELF program headers");
		return -1;
	}
	return 0;
}

static struct phdr get_phdr(const struct elf_view *e, unsigned int i)
{
	const uint8_t *p = e->data + e->phoff + (uint64_t)i * e->phentsize;
	if (e->is64) {
		Elf64_Phdr h;
		memcpy(&h, p, sizeof(h));
		return (struct phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	}
	Elf32_Phdr h;
	memcpy(&h, p, sizeof(h));
	return (struct phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
}

/* Looks for the Xen PHYS32 entry note in one PT_NOTE segment. */
static bool find_pvh_note(const struct elf_view *e, const struct phdr *ph, uint64_t *entry)
{
	uint64_t off = ph->offset, end = ph->offset + ph->filesz;
	while (off + 12 <= end) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, e->data + off, 4);
		memcpy(&descsz, e->data + off + 4, 4);
		memcpy(&type, e->data + off + 8, 4);
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);
		if (next > end)
			return false;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(e->data + name_off, "Xen", 4) == 0 && descsz >= 4) {
			uint32_t v;
			memcpy(&v, e->data + desc_off, 4);
			*entry = v;
			return true;
		}
		off = next;
	}
	return false;
}

static int load_segment(struct vm *vm, const struct elf_view *e, const struct phdr *ph,
			struct boot_image *img)
{
	if (ph->filesz > ph->memsz || !in_file(e, ph->offset, ph->filesz)) {
		snprintf(img->err, sizeof(img->err), "ELF segment at 0x%llx lies outside the file",
			 (unsigned long long)ph->paddr);
		return -1;
	}
	if (ph->paddr < VM_HIGH_START) {
		snprintf(img->err, sizeof(img->err),
			 "ELF segment at 0x%llx is below 1 MiB, where vmx keeps boot data",
			 (unsigned long long)ph->paddr);
		return -1;
	}
	uint8_t *dst = gmem_ptr(&vm->mem, ph->paddr, ph->memsz);
	if (!dst) {
		snprintf(img->err, sizeof(img->err),
			 "ELF segment at 0x%llx (%llu bytes) does not fit in %llu MiB of guest RAM",
			 (unsigned long long)ph->paddr, (unsigned long long)ph->memsz,
			 (unsigned long long)(vm->ram_size >> 20));
		return -1;
	}
	memcpy(dst, e->data + ph->offset, ph->filesz);
	memset(dst + ph->filesz, 0, ph->memsz - ph->filesz);
	if (ph->paddr + ph->memsz > img->load_end)
		img->load_end = ph->paddr + ph->memsz;
	return 0;
}

int elf_load(struct vm *vm, struct boot_image *img)
{
	struct elf_view e;
	int r = parse_header(&e, img);
	if (r != 0)
		return r;
	bool have_entry = false;
	for (unsigned int i = 0; i < e.phnum && !have_entry; i++) {
		struct phdr ph = get_phdr(&e, i);
		if (ph.type == PT_NOTE && in_file(&e, ph.offset, ph.filesz))
			have_entry = find_pvh_note(&e, &ph, &img->entry);
	}
	if (!have_entry) {
		snprintf(img->err, sizeof(img->err),
			 "ELF has no PVH entry note (Xen note XEN_ELFNOTE_PHYS32_ENTRY)");
		return -1;
	}
	unsigned int loaded = 0;
	for (unsigned int i = 0; i < e.phnum; i++) {
		struct phdr ph = get_phdr(&e, i);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (load_segment(vm, &e, &ph, img) < 0)
			return -1;
		loaded++;
	}
	if (loaded == 0) {
		snprintf(img->err, sizeof(img->err), "ELF has no loadable segments");
		return -1;
	}
	if (!gmem_ptr(&vm->mem, img->entry, 1)) {
		snprintf(img->err, sizeof(img->err), "PVH entry 0x%llx is outside guest RAM",
			 (unsigned long long)img->entry);
		return -1;
	}
	vm->entry_pvh = true;
	img->initrd_max = UINT32_MAX;   /* PVH keeps everything below 4 GiB */
	img->cmdline_max = VM_CMDLINE_MAX - 1;
	return 0;
}
