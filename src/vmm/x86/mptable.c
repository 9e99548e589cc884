/*
 * MP tables, written from the Intel MultiProcessor Specification 1.4
 * (chapter 4).  The configuration table is assembled in a host buffer
 * from packed entry structs (the host is little-endian, like the
 * tables), its header patched with length, entry count and checksum,
 * and then it and the 16-byte floating pointer are copied into guest RAM
 * with gmem_write().
 */
#include "x86/mptable.h"

#include <string.h>

#include "vm.h"
#include "x86/aml.h"

#define MP_SPEC_REV 4                   /* 1.4 */
#define MP_OEM_ID "VMK     "
#define MP_PRODUCT_ID "VMK VM      "
#define MP_CONFIG_ADDR (VM_MPTABLE_ADDR + sizeof(struct mp_floating))
#define MP_AREA_END VM_ACPI_ADDR

#define MP_ENTRY_PROCESSOR 0
#define MP_ENTRY_BUS 1
#define MP_ENTRY_IOAPIC 2
#define MP_ENTRY_IO_INT 3
#define MP_ENTRY_LOCAL_INT 4

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
#define MP_LAPIC_VERSION 0x14           /* integrated APIC, as KVM's */
#define MP_CPU_SIGNATURE 0x600          /* family 6 */
#define MP_CPU_FEATURES 0x201           /* FPU, APIC */
#define MP_IOAPIC_VERSION 0x11
#define MP_IOAPIC_ENABLED 0x01

#define MP_INT_INT 0
#define MP_INT_NMI 1
#define MP_INT_EXTINT 3
#define MP_INT_FLAGS_CONFORM 0x0000     /* as the bus defines: ISA is edge, high */
#define MP_INT_FLAGS_EDGE_HIGH 0x0005
#define MP_ALL_LAPICS 0xff
#define MP_ISA_BUS_ID 0
#define MP_ISA_IRQS 16

struct mp_floating {
	char signature[4];
	uint32_t config_address;
	uint8_t length;                 /* in 16-byte units */
	uint8_t spec_rev, checksum;
	uint8_t features[5];            /* all 0: config table present, no IMCR */
} __attribute__((packed));

struct mp_config {
	char signature[4];
	uint16_t base_length;
	uint8_t spec_rev, checksum;
	char oem_id[8], product_id[12];
	uint32_t oem_table_address;
	uint16_t oem_table_size, entry_count;
	uint32_t lapic_address;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

struct mp_processor {
	uint8_t type, lapic_id, lapic_version, cpu_flags;
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type, bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type, ioapic_id, version, flags;
	uint32_t address;
} __attribute__((packed));

/* I/O and local interrupt assignment entries share one layout. */
struct mp_interrupt {
	uint8_t type, int_type;
	uint16_t flags;
	uint8_t src_bus, src_irq, dst_id, dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor");
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus");
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC");
_Static_assert(sizeof(struct mp_interrupt) == 8, "MP interrupt");

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

/* The configuration table under construction and its entry count. */
struct mp_builder {
	struct aml t;
	unsigned int entries;
};

static void add_entry(struct mp_builder *b, const void *e, size_t len)
{
	aml_bytes(&b->t, e, len);
	b->entries++;
}

static void add_processors(struct mp_builder *b, unsigned int nr_vcpus)
{
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		struct mp_processor p = {
			.type = MP_ENTRY_PROCESSOR, .lapic_id = (uint8_t)i,
			.lapic_version = MP_LAPIC_VERSION,
			.cpu_flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.signature = MP_CPU_SIGNATURE, .features = MP_CPU_FEATURES,
		};
		add_entry(b, &p, sizeof(p));
	}
}

static void add_interrupt(struct mp_builder *b, uint8_t type, uint8_t int_type, uint16_t flags,
			  uint8_t irq, uint8_t dst_id, uint8_t dst_pin)
{
	struct mp_interrupt e = {
		.type = type, .int_type = int_type, .flags = flags,
		.src_bus = MP_ISA_BUS_ID, .src_irq = irq,
		.dst_id = dst_id, .dst_pin = dst_pin,
	};
	add_entry(b, &e, sizeof(e));
}

/* ISA IRQs 0-15, then virtio irqs above them, each to the same IOAPIC pin. */
static void add_io_interrupts(struct mp_builder *b, const struct vm *vm, uint8_t ioapic)
{
	for (unsigned int irq = 0; irq < MP_ISA_IRQS; irq++)
		add_interrupt(b, MP_ENTRY_IO_INT, MP_INT_INT, MP_INT_FLAGS_CONFORM,
			      (uint8_t)irq, ioapic, (uint8_t)irq);
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		unsigned int irq = vm->virtio[i].irq;
		if (irq < MP_ISA_IRQS)
			continue;
		if (irq > UINT8_MAX)
			b->t.failed = true;
		add_interrupt(b, MP_ENTRY_IO_INT, MP_INT_INT, MP_INT_FLAGS_EDGE_HIGH,
			      (uint8_t)irq, ioapic, (uint8_t)irq);
	}
}

static void add_entries(struct mp_builder *b, const struct vm *vm)
{
	uint8_t ioapic_id = (uint8_t)vm->nr_vcpus;
	struct mp_bus bus = { .type = MP_ENTRY_BUS, .bus_id = MP_ISA_BUS_ID };
	struct mp_ioapic io = {
		.type = MP_ENTRY_IOAPIC, .ioapic_id = ioapic_id,
		.version = MP_IOAPIC_VERSION, .flags = MP_IOAPIC_ENABLED,
		.address = (uint32_t)VM_IOAPIC_ADDR,
	};

	memcpy(bus.bus_type, "ISA   ", 6);
	add_processors(b, vm->nr_vcpus);
	add_entry(b, &bus, sizeof(bus));
	add_entry(b, &io, sizeof(io));
	add_io_interrupts(b, vm, ioapic_id);
	add_interrupt(b, MP_ENTRY_LOCAL_INT, MP_INT_EXTINT, MP_INT_FLAGS_CONFORM,
		      0, MP_ALL_LAPICS, 0);
	add_interrupt(b, MP_ENTRY_LOCAL_INT, MP_INT_NMI, MP_INT_FLAGS_CONFORM,
		      0, MP_ALL_LAPICS, 1);
}

static void config_header(struct mp_config *h, size_t len, unsigned int entries)
{
	memcpy(h->signature, "PCMP", 4);
	h->base_length = (uint16_t)len;
	h->spec_rev = MP_SPEC_REV;
	memcpy(h->oem_id, MP_OEM_ID, 8);
	memcpy(h->product_id, MP_PRODUCT_ID, 12);
	h->entry_count = (uint16_t)entries;
	h->lapic_address = (uint32_t)VM_LAPIC_ADDR;
}

static int write_floating(struct vm *vm)
{
	struct mp_floating f = {
		.config_address = (uint32_t)MP_CONFIG_ADDR,
		.length = sizeof(f) / 16,
		.spec_rev = MP_SPEC_REV,
	};

	memcpy(f.signature, "_MP_", 4);
	f.checksum = checksum(&f, sizeof(f));
	return gmem_write(&vm->mem, VM_MPTABLE_ADDR, &f, sizeof(f));
}

/* Patches the header into b's buffer and copies it to guest RAM. */
static int write_config(struct vm *vm, struct mp_builder *b)
{
	if (b->t.failed || b->t.len > UINT16_MAX || MP_CONFIG_ADDR + b->t.len > MP_AREA_END)
		return -1;
	struct mp_config *cfg = (struct mp_config *)b->t.buf;
	config_header(cfg, b->t.len, b->entries);
	cfg->checksum = checksum(b->t.buf, b->t.len);
	return gmem_write(&vm->mem, MP_CONFIG_ADDR, b->t.buf, b->t.len);
}

int mptable_build(struct vm *vm)
{
	struct mp_builder b = { AML_INIT, 0 };
	struct mp_config h = { 0 };

	if (vm->nr_vcpus == 0 || vm->nr_vcpus > MPTABLE_MAX_VCPUS ||
	    vm->nr_virtio > VM_MAX_VIRTIO)
		return -1;
	aml_bytes(&b.t, &h, sizeof(h));
	add_entries(&b, vm);
	int ret = write_config(vm, &b);
	aml_free(&b.t);
	return ret ? -1 : write_floating(vm);
}
