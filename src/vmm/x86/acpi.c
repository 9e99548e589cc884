/*
 * ACPI tables, written from the ACPI 6.x specification (chapter 5).
 *
 * Each table is assembled in a host buffer (struct aml), its length and
 * checksum are patched in, and it is copied into guest RAM with
 * gmem_write() at the next 16-byte boundary after the previous one.
 * Tables go in dependency order: the DSDT, then the FADT that points at
 * it, the MADT, the XSDT listing FADT and MADT, and last the RSDP at the
 * fixed VM_ACPI_ADDR pointing at the XSDT.  Fixed-layout tables are
 * packed structs (the host is x86, little-endian like ACPI); the DSDT is
 * AML from x86/aml.c.  Besides the devices, the DSDT holds \_S5 and
 * the power button: \_SB.PWRB (PNP0C0C) and the Generic Event Device
 * \_SB.GED0 whose _EVT notifies it (devices/acpi_ged.h).
 */
#include "x86/acpi.h"

#include <stddef.h>
#include <string.h>

#include "devices/acpi_ged.h"
#include "devices/acpi_pm.h"
#include "vm.h"
#include "x86/aml.h"

#define ACPI_OEM_ID "VMK   "
#define ACPI_OEM_TABLE_PREFIX "VMK"     /* + signature + ' ' */
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "VMK "
#define ACPI_CREATOR_REVISION 1
#define ACPI_HYPERVISOR_ID "VMKVMX  "

#define ACPI_TABLES_ADDR (VM_ACPI_ADDR + 0x40)  /* after the 36-byte RSDP */
#define ACPI_AREA_END VM_HIGH_START
#define ACPI_ALIGN 16

#define RSDP_REVISION 2
#define DSDT_REVISION 2                 /* 64-bit AML integers */
#define FADT_REVISION 6
#define FADT_MINOR_REVISION 5           /* ACPI 6.5 */
#define MADT_REVISION 5
#define XSDT_REVISION 1

/* FADT flags and IA-PC boot architecture flags */
#define FADT_WBINVD (1u << 0)
#define FADT_PWR_BUTTON (1u << 4)       /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)       /* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define IAPC_8042 (1u << 1)             /* vmx emulates an i8042 */
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

#define MADT_PCAT_COMPAT (1u << 0)
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_TYPE_LAPIC_NMI 4
#define MADT_LAPIC_ENABLED (1u << 0)
#define MADT_ALL_PROCESSORS 0xff
#define MPS_INTI_EDGE_HIGH 0x0005       /* polarity 01 high, trigger 01 edge */
#define LAPIC_LINT1 1

#define COM1_PORT 0x3f8
#define COM1_IRQ 4

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;               /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;      /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {
	uint8_t space_id, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, ioapic_id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT sleep");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT NMI");

/* Where the next table goes. */
struct acpi_ctx {
	struct vm *vm;
	uint64_t next;
};

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

static void header_init(struct acpi_header *h, const char sig[4], uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_PREFIX, 3);
	memcpy(h->oem_table_id + 3, sig, 4);
	h->oem_table_id[7] = ' ';
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

static void finish_header(struct aml *t)
{
	struct acpi_header *h = (struct acpi_header *)t->buf;

	h->length = (uint32_t)t->len;
	h->checksum = 0;
	h->checksum = checksum(t->buf, t->len);
}

/* Patches length and checksum into t, copies it to guest RAM, frees t. */
static int place(struct acpi_ctx *c, struct aml *t, uint64_t *gpa)
{
	uint64_t at = (c->next + ACPI_ALIGN - 1) & ~(uint64_t)(ACPI_ALIGN - 1);
	int ret = -1;

	if (!t->failed && t->len >= sizeof(struct acpi_header) &&
	    at + t->len <= ACPI_AREA_END) {
		finish_header(t);
		ret = gmem_write(&c->vm->mem, at, t->buf, t->len);
	}
	if (ret == 0) {
		c->next = at + t->len;
		*gpa = at;
	}
	aml_free(t);
	return ret;
}

/* ---- DSDT ---- */

static void dsdt_com1(struct aml *sb)
{
	struct aml dev = AML_INIT, res = AML_INIT;

	aml_name_def(&dev, "_HID");
	aml_eisaid(&dev, "PNP0501");
	aml_name_def(&dev, "_UID");
	aml_integer(&dev, 1);
	aml_res_io16(&res, COM1_PORT, 8);
	aml_res_irq(&res, COM1_IRQ);
	aml_name_def(&dev, "_CRS");
	aml_resource_template(&dev, &res);
	aml_device(sb, "COM1", &dev);
	aml_free(&res);
	aml_free(&dev);
}

/* Device(VRnn): what Linux's virtio_mmio driver binds to through ACPI. */
static void dsdt_virtio(struct aml *sb, unsigned int n, const struct virtio_slot *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[5] = { 'V', 'R', hex[(n >> 4) & 0xf], hex[n & 0xf], 0 };
	struct aml dev = AML_INIT, res = AML_INIT;

	if (n > 0xff || s->base > UINT32_MAX - VM_VIRTIO_MMIO_SIZE + 1)
		sb->failed = true;
	aml_name_def(&dev, "_HID");
	aml_string(&dev, "LNRO0005");
	aml_name_def(&dev, "_UID");
	aml_integer(&dev, n);
	aml_res_mem32_fixed(&res, (uint32_t)s->base, VM_VIRTIO_MMIO_SIZE);
	aml_res_ext_irq(&res, s->irq);
	aml_name_def(&dev, "_CRS");
	aml_resource_template(&dev, &res);
	aml_device(sb, name, &dev);
	aml_free(&res);
	aml_free(&dev);
}

/* Device(PWRB): the control-method power button GED0 notifies. */
static void dsdt_power_button(struct aml *sb)
{
	struct aml dev = AML_INIT;

	aml_name_def(&dev, "_HID");
	aml_eisaid(&dev, "PNP0C0C");
	aml_device(sb, "PWRB", &dev);
	aml_free(&dev);
}

/*
 * _EVT(gsi): the GED has a single interrupt, so the argument says
 * nothing new; the event register says what happened.
 *   If (And(ESEL, PWR_BUTTON)) { Store(PWR_BUTTON, ESEL)  (acknowledge)
 *                                Notify(\_SB.PWRB, 0x80) }
 * The acknowledgement comes first: a press arriving during Notify
 * then raises the interrupt again instead of being cleared unseen.
 */
static void ged_evt(struct aml *dev)
{
	struct aml body = AML_INIT, pred = AML_INIT, then = AML_INIT;

	aml_and(&pred);
	aml_name(&pred, "ESEL");
	aml_integer(&pred, ACPI_GED_PWR_BUTTON);
	aml_null_name(&pred);
	aml_store(&then);
	aml_integer(&then, ACPI_GED_PWR_BUTTON);
	aml_name(&then, "ESEL");
	aml_notify(&then);
	aml_name(&then, "\\_SB.PWRB");
	aml_integer(&then, ACPI_GED_BUTTON_NOTIFY);
	aml_if(&body, &pred, &then);
	aml_method(dev, "_EVT", 1, true, &body);
	aml_free(&body);
	aml_free(&pred);
	aml_free(&then);
}

/* Device(GED0): the Generic Event Device of devices/acpi_ged.h. */
static void dsdt_ged(struct aml *sb)
{
	struct aml dev = AML_INIT, res = AML_INIT;

	aml_name_def(&dev, "_HID");
	aml_string(&dev, "ACPI0013");
	aml_name_def(&dev, "_UID");
	aml_integer(&dev, 0);
	aml_res_ext_irq_level(&res, ACPI_GED_GSI);
	aml_name_def(&dev, "_CRS");
	aml_resource_template(&dev, &res);
	aml_region_io(&dev, "EREG", ACPI_GED_EVT_PORT, 1);
	aml_field_byte(&dev, "EREG", "ESEL", 8);
	ged_evt(&dev);
	aml_device(sb, "GED0", &dev);
	aml_free(&res);
	aml_free(&dev);
}

/* Name(_S5, Package() { typ, typ, 0, 0 }): SLP_TYPa, SLP_TYPb, reserved. */
static void dsdt_s5(struct aml *d)
{
	struct aml pkg = AML_INIT;

	aml_integer(&pkg, ACPI_PM_S5_SLP_TYP);
	aml_integer(&pkg, ACPI_PM_S5_SLP_TYP);
	aml_integer(&pkg, 0);
	aml_integer(&pkg, 0);
	aml_name_def(d, "_S5");
	aml_package(d, 4, &pkg);
	aml_free(&pkg);
}

static int build_dsdt(struct acpi_ctx *c, uint64_t *gpa)
{
	struct aml t = AML_INIT, sb = AML_INIT;
	struct acpi_header h = { 0 };
	const struct vm *vm = c->vm;

	header_init(&h, "DSDT", DSDT_REVISION);
	aml_bytes(&t, &h, sizeof(h));
	dsdt_com1(&sb);
	dsdt_power_button(&sb);
	dsdt_ged(&sb);
	for (unsigned int i = 0; i < vm->nr_virtio; i++)
		dsdt_virtio(&sb, i, &vm->virtio[i]);
	aml_scope(&t, "\\_SB", &sb);
	dsdt_s5(&t);
	aml_free(&sb);
	return place(c, &t, gpa);
}

/* ---- FADT ---- */

static struct acpi_gas io_reg(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = GAS_ACCESS_BYTE,
		.address = port,
	};
}

static void fadt_fill(struct acpi_fadt *f, uint64_t dsdt)
{
	header_init(&f->h, "FACP", FADT_REVISION);
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		   FADT_RESET_REG_SUP | FADT_HW_REDUCED_ACPI;
	f->iapc_boot_arch = IAPC_8042 | IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT;
	f->reset_reg = io_reg(ACPI_PM_RESET_PORT);
	f->reset_value = ACPI_PM_RESET_VALUE;
	f->minor_version = FADT_MINOR_REVISION;
	f->sleep_control_reg = io_reg(ACPI_PM_SLEEP_CTL_PORT);
	f->sleep_status_reg = io_reg(ACPI_PM_SLEEP_STS_PORT);
	memcpy(f->hypervisor_vendor_id, ACPI_HYPERVISOR_ID, 8);
}

static int build_fadt(struct acpi_ctx *c, uint64_t dsdt, uint64_t *gpa)
{
	struct aml t = AML_INIT;
	struct acpi_fadt f = { 0 };

	fadt_fill(&f, dsdt);
	aml_bytes(&t, &f, sizeof(f));
	return place(c, &t, gpa);
}

/* ---- MADT ---- */

static void madt_lapics(struct aml *t, unsigned int nr_vcpus)
{
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		struct madt_lapic e = {
			.type = MADT_TYPE_LAPIC, .length = sizeof(e),
			.processor_uid = (uint8_t)i, .apic_id = (uint8_t)i,
			.flags = MADT_LAPIC_ENABLED,
		};
		aml_bytes(t, &e, sizeof(e));
	}
}

static int build_madt(struct acpi_ctx *c, uint64_t *gpa)
{
	struct aml t = AML_INIT;
	struct acpi_madt m = { .lapic_address = VM_LAPIC_ADDR, .flags = MADT_PCAT_COMPAT };
	struct madt_ioapic io = {
		.type = MADT_TYPE_IOAPIC, .length = sizeof(io),
		.ioapic_id = (uint8_t)c->vm->nr_vcpus,
		.address = (uint32_t)VM_IOAPIC_ADDR, .gsi_base = 0,
	};
	struct madt_lapic_nmi nmi = {
		.type = MADT_TYPE_LAPIC_NMI, .length = sizeof(nmi),
		.processor_uid = MADT_ALL_PROCESSORS,
		.flags = MPS_INTI_EDGE_HIGH, .lint = LAPIC_LINT1,
	};

	header_init(&m.h, "APIC", MADT_REVISION);
	aml_bytes(&t, &m, sizeof(m));
	madt_lapics(&t, c->vm->nr_vcpus);
	aml_bytes(&t, &io, sizeof(io));
	aml_bytes(&t, &nmi, sizeof(nmi));
	return place(c, &t, gpa);
}

/* ---- XSDT and RSDP ---- */

static int build_xsdt(struct acpi_ctx *c, const uint64_t *tables, unsigned int nr,
		      uint64_t *gpa)
{
	struct aml t = AML_INIT;
	struct acpi_header h = { 0 };

	header_init(&h, "XSDT", XSDT_REVISION);
	aml_bytes(&t, &h, sizeof(h));
	for (unsigned int i = 0; i < nr; i++) {
		aml_u32(&t, (uint32_t)tables[i]);
		aml_u32(&t, (uint32_t)(tables[i] >> 32));
	}
	return place(c, &t, gpa);
}

static int write_rsdp(struct vm *vm, uint64_t xsdt)
{
	struct acpi_rsdp r = {
		.revision = RSDP_REVISION,
		.length = sizeof(r),
		.xsdt_address = xsdt,
	};

	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.checksum = checksum(&r, 20);
	r.extended_checksum = checksum(&r, sizeof(r));
	return gmem_write(&vm->mem, ACPI_RSDP_ADDR, &r, sizeof(r));
}

int acpi_build(struct vm *vm)
{
	struct acpi_ctx c = { .vm = vm, .next = ACPI_TABLES_ADDR };
	uint64_t dsdt, tables[2], xsdt;

	if (vm->nr_vcpus == 0 || vm->nr_vcpus > ACPI_MAX_VCPUS ||
	    vm->nr_virtio > VM_MAX_VIRTIO)
		return -1;
	if (build_dsdt(&c, &dsdt) || build_fadt(&c, dsdt, &tables[0]) ||
	    build_madt(&c, &tables[1]) || build_xsdt(&c, tables, 2, &xsdt))
		return -1;
	return write_rsdp(vm, xsdt);
}
