/*
 * Unit tests for the x86 platform tables: the e820 map, the ACPI tables
 * (read back from guest RAM by walking RSDP -> XSDT -> each table, with
 * offsets taken from the ACPI 6.x specification rather than from the
 * structs in acpi.c), the MP tables, the acpi_pm registers and the
 * Generic Event Device (power button) with its AML.  When
 * iasl (Debian acpica-tools) is on PATH, the tables are also dumped and
 * disassembled, and the disassembly recompiled, with no error allowed;
 * without iasl that test is skipped.  Set VMK_ACPI_DUMP=dir to keep the
 * table files.
 *
 * vm_request_stop() and vm_set_irq() are vmx's; stubs here record the
 * calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/acpi_ged.h"
#include "devices/acpi_pm.h"
#include "vm.h"
#include "x86/acpi.h"
#include "x86/aml.h"
#include "x86/e820.h"
#include "x86/mptable.h"

#define GUEST_RAM (2u << 20)    /* covers everything below 1 MiB */
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* ---- stubs for vmx ---- */

static int stop_calls;
static enum vm_stop_reason stop_why;

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int status)
{
	(void)vm;
	(void)status;
	stop_calls++;
	stop_why = why;
}

static int irq_calls;
static unsigned int irq_gsi;
static int irq_level;

void vm_set_irq(struct vm *vm, unsigned int gsi, int level)
{
	(void)vm;
	irq_calls++;
	irq_gsi = gsi;
	irq_level = level;
}

/* ---- helpers ---- */

struct fixture {
	struct vm vm;
	uint8_t *ram;
};

static struct fixture *fixture_new(unsigned int nr_vcpus, unsigned int nr_virtio)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->ram = calloc(1, GUEST_RAM);
	assert_non_null(f->ram);
	assert_int_equal(gmem_add_region(&f->vm.mem, 0, GUEST_RAM, f->ram), 0);
	f->vm.ram_size = GUEST_RAM;
	f->vm.nr_vcpus = nr_vcpus;
	f->vm.nr_virtio = nr_virtio;
	for (unsigned int i = 0; i < nr_virtio; i++)
		f->vm.virtio[i] = (struct virtio_slot){
			.base = VM_VIRTIO_MMIO_BASE + i * VM_VIRTIO_MMIO_SIZE,
			.irq = 5 + i,
			.device_id = 2,
		};
	return f;
}

static void fixture_free(struct fixture *f)
{
	free(f->ram);
	free(f);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static const uint8_t *guest(const struct fixture *f, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = gmem_ptr(&f->vm.mem, gpa, len);
	assert_non_null(p);
	return p;
}

/* A table's header checked, the table returned. */
static const uint8_t *acpi_table(const struct fixture *f, uint64_t gpa, const char *sig)
{
	const uint8_t *h = guest(f, gpa, 36);
	assert_memory_equal(h, sig, 4);
	uint32_t len = rd32(h + 4);
	assert_true(len >= 36);
	assert_true(gpa + len <= VM_HIGH_START);
	assert_true(gpa >= VM_ACPI_ADDR);
	const uint8_t *t = guest(f, gpa, len);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "VMK   ", 6);
	return t;
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m);
}

static unsigned int count_bytes(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	unsigned int c = 0;
	for (const uint8_t *p = hay; (p = memmem(p, n - (size_t)(p - hay), needle, m)); p++)
		c++;
	return c;
}

/* ---- e820 ---- */

static void test_e820_small(void **state)
{
	(void)state;
	struct vm vm = { .ram_size = 256 * MiB };
	struct e820_entry e[E820_MAX_ENTRIES];

	assert_int_equal(sizeof(struct e820_entry), 20);
	assert_int_equal(e820_build(&vm, e, E820_MAX_ENTRIES), 3);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, VM_EBDA_START);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, VM_EBDA_START);
	assert_int_equal(e[1].size, 0x100000 - VM_EBDA_START);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].size, 256 * MiB - 0x100000);
	assert_int_equal(e[2].type, E820_RAM);
}

static void test_e820_above_gap(void **state)
{
	(void)state;
	struct vm vm = { .ram_size = 4 * GiB };
	struct e820_entry e[E820_MAX_ENTRIES];

	assert_int_equal(e820_build(&vm, e, E820_MAX_ENTRIES), 4);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].addr + e[2].size, VM_MMIO_GAP_START);
	assert_int_equal(e[3].addr, 4 * GiB);
	assert_int_equal(e[3].size, 4 * GiB - VM_MMIO_GAP_START);
	assert_int_equal(e[3].type, E820_RAM);

	/* exactly up to the gap: nothing above 4 GiB */
	vm.ram_size = VM_MMIO_GAP_START;
	assert_int_equal(e820_build(&vm, e, E820_MAX_ENTRIES), 3);
	assert_int_equal(e[2].addr + e[2].size, VM_MMIO_GAP_START);
}

static void test_e820_max(void **state)
{
	(void)state;
	struct vm vm = { .ram_size = 8 * GiB };
	struct e820_entry e[2] = { 0 };
	struct e820_entry sentinel[1] = { { 0x1234, 0x5678, 9 } };

	assert_int_equal(e820_build(&vm, e, 2), 2);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e820_build(&vm, sentinel, 0), 0);
	assert_int_equal(sentinel[0].addr, 0x1234);
}

/* ---- ACPI ---- */

static const uint8_t *rsdp_xsdt(const struct fixture *f, unsigned int *nr)
{
	const uint8_t *r = guest(f, VM_ACPI_ADDR, 36);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(r[15], 2);             /* revision */
	assert_int_equal(rd32(r + 20), 36);     /* length */
	assert_int_equal(sum(r, 36), 0);
	const uint8_t *x = acpi_table(f, rd64(r + 24), "XSDT");
	*nr = (rd32(x + 4) - 36) / 8;
	return x;
}

static const uint8_t *xsdt_find(const struct fixture *f, const char *sig)
{
	unsigned int nr;
	const uint8_t *x = rsdp_xsdt(f, &nr);
	for (unsigned int i = 0; i < nr; i++) {
		const uint8_t *h = guest(f, rd64(x + 36 + 8 * i), 36);
		if (memcmp(h, sig, 4) == 0)
			return acpi_table(f, rd64(x + 36 + 8 * i), sig);
	}
	fail_msg("no %s in the XSDT", sig);
	return NULL;
}

static void check_gas_io(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1);      /* system I/O */
	assert_int_equal(g[1], 8);      /* bit width */
	assert_int_equal(g[2], 0);
	assert_int_equal(g[3], 1);      /* byte access */
	assert_int_equal(rd64(g + 4), port);
}

static const uint8_t *check_fadt(const struct fixture *f)
{
	const uint8_t *t = xsdt_find(f, "FACP");
	assert_int_equal(rd32(t + 4), 276);
	assert_int_equal(t[8], 6);
	uint32_t flags = rd32(t + 112);
	assert_true(flags & (1u << 20));        /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10));        /* RESET_REG_SUP */
	uint16_t boot = rd16(t + 109);
	assert_true(boot & (1u << 2));          /* VGA not present */
	assert_true(boot & (1u << 5));          /* CMOS RTC not present */
	check_gas_io(t + 116, ACPI_PM_RESET_PORT);
	assert_int_equal(t[128], ACPI_PM_RESET_VALUE);
	check_gas_io(t + 244, ACPI_PM_SLEEP_CTL_PORT);
	check_gas_io(t + 256, ACPI_PM_SLEEP_STS_PORT);
	assert_memory_equal(t + 268, "VMK", 3);
	assert_int_equal(rd32(t + 40), rd64(t + 140));
	return acpi_table(f, rd64(t + 140), "DSDT");
}

static void check_madt(const struct fixture *f)
{
	const uint8_t *t = xsdt_find(f, "APIC");
	uint32_t len = rd32(t + 4);
	unsigned int lapics = 0, ioapics = 0, nmis = 0;

	assert_int_equal(rd32(t + 36), VM_LAPIC_ADDR);
	assert_int_equal(rd32(t + 40) & 1, 1);  /* PCAT_COMPAT */
	for (uint32_t off = 44; off < len; off += t[off + 1]) {
		const uint8_t *e = t + off;
		assert_true(e[1] >= 2 && off + e[1] <= len);
		if (e[0] == 0) {
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);         /* processor uid */
			assert_int_equal(e[3], lapics);         /* APIC id */
			assert_int_equal(rd32(e + 4) & 1, 1);   /* enabled */
			lapics++;
		} else if (e[0] == 1) {
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], f->vm.nr_vcpus);
			assert_int_equal(rd32(e + 4), VM_IOAPIC_ADDR);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
		} else if (e[0] == 4) {
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);              /* LINT1 */
			nmis++;
		} else {
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_int_equal(lapics, f->vm.nr_vcpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, 1);
}

/*
 * \_SB.PWRB and \_SB.GED0, byte for byte where the encoding is fixed
 * (ACPI 6.x, 20.2 and 6.4.3.6).
 */
static void check_dsdt_power_button(const uint8_t *d, uint32_t len)
{
	static const uint8_t pwrb[] = { 0x5b, 0x82, 0x0f, 'P', 'W', 'R', 'B', /* Device(PWRB) */
					0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0c, 0x0c };
	/* Interrupt(ResourceConsumer, Level, ActiveHigh, Exclusive) { 23 }, end tag */
	static const uint8_t irq[] = { 0x89, 0x06, 0x00, 0x01, 0x01, ACPI_GED_GSI, 0, 0, 0, 0x79 };
	/* OperationRegion(EREG, SystemIO, 0x603, 1) */
	static const uint8_t region[] = { 0x5b, 0x80, 'E', 'R', 'E', 'G', 0x01,
					  0x0b, 0x03, 0x06, 0x01 };
	/* Field(EREG, ByteAcc, NoLock, Preserve) { ESEL, 8 } */
	static const uint8_t field[] = { 0x5b, 0x81, 0x0b, 'E', 'R', 'E', 'G', 0x01,
					 'E', 'S', 'E', 'L', 0x08 };
	/*
	 * Method(_EVT, 1, Serialized) { If (And(ESEL, 1)) { Store(1, ESEL)
	 *                               Notify(\_SB.PWRB, 0x80) } }
	 */
	static const uint8_t evt[] = {
		0x14, 0x22, '_', 'E', 'V', 'T', 0x09,
		0xa0, 0x1b, 0x7b, 'E', 'S', 'E', 'L', 0x01, 0x00,
		0x70, 0x01, 'E', 'S', 'E', 'L',
		0x86, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B', 0x0a, 0x80,
	};
	const uint8_t *name = find_bytes(d, len, "GED0", 4);

	assert_non_null(find_bytes(d, len, pwrb, sizeof(pwrb)));
	assert_int_equal(count_bytes(d, len, "ACPI0013", 9), 1);
	/* Device(GED0) with a two-byte PkgLength holds the rest, in this order */
	assert_non_null(name);
	assert_true(name - d >= 4 && name[-4] == 0x5b && name[-3] == 0x82);
	assert_int_equal(name[-2] >> 6, 1);
	size_t dev_len = (name[-2] & 0x0f) | (size_t)name[-1] << 4;
	assert_true(name - 2 + dev_len <= d + len);
	size_t left = dev_len - 2;
	const uint8_t *p = find_bytes(name, left, irq, sizeof(irq));
	assert_non_null(p);
	assert_int_equal(sum(p, sizeof(irq) + 1), 0);  /* the template's checksum */
	p = find_bytes(p, left - (size_t)(p - name), region, sizeof(region));
	assert_non_null(p);
	p = find_bytes(p, left - (size_t)(p - name), field, sizeof(field));
	assert_non_null(p);
	p = find_bytes(p, left - (size_t)(p - name), evt, sizeof(evt));
	assert_non_null(p);
	assert_true(p + sizeof(evt) == name - 2 + dev_len);     /* _EVT ends the device */
}

static void check_dsdt(const struct fixture *f, const uint8_t *d)
{
	uint32_t len = rd32(d + 4);
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, ACPI_PM_S5_SLP_TYP, 0x0a, ACPI_PM_S5_SLP_TYP, 0, 0 };
	static const uint8_t com1_io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08,
					   0x22, 0x10, 0x00, 0x79 };

	assert_int_equal(d[8], 2);
	assert_non_null(find_bytes(d, len, s5, sizeof(s5)));
	assert_non_null(find_bytes(d, len, com1_io, sizeof(com1_io)));
	assert_non_null(find_bytes(d, len, "\x0c\x41\xd0\x05\x01", 5)); /* PNP0501 */
	assert_int_equal(count_bytes(d, len, "LNRO0005", 9), f->vm.nr_virtio);
	check_dsdt_power_button(d, len);
	for (unsigned int i = 0; i < f->vm.nr_virtio; i++) {
		const struct virtio_slot *s = &f->vm.virtio[i];
		uint8_t mem[] = { 0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x10, 0, 0,
				  0x89, 0x06, 0x00, 0x03, 0x01, 0, 0, 0, 0, 0x79 };
		memcpy(mem + 4, &(uint32_t){ (uint32_t)s->base }, 4);
		memcpy(mem + 17, &(uint32_t){ s->irq }, 4);
		const uint8_t *p = find_bytes(d, len, mem, sizeof(mem));
		assert_non_null(p);
		/* the resource template, end tag included, sums to 0 */
		assert_int_equal(sum(p, sizeof(mem) + 1), 0);
	}
}

static void test_acpi_tables(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(4, 3);

	assert_int_equal(acpi_build(&f->vm), 0);
	unsigned int nr;
	rsdp_xsdt(f, &nr);
	assert_int_equal(nr, 2);
	check_dsdt(f, check_fadt(f));
	check_madt(f);
	fixture_free(f);
}

static void test_acpi_vcpu_counts(void **state)
{
	(void)state;
	static const unsigned int counts[] = { 1, 2, 7, 64, ACPI_MAX_VCPUS };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct fixture *f = fixture_new(counts[i], VM_MAX_VIRTIO);
		assert_int_equal(acpi_build(&f->vm), 0);
		check_dsdt(f, check_fadt(f));
		check_madt(f);
		fixture_free(f);
	}
}

static void test_acpi_refuses(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0, 0);

	assert_int_equal(acpi_build(&f->vm), -1);
	f->vm.nr_vcpus = ACPI_MAX_VCPUS + 1;
	assert_int_equal(acpi_build(&f->vm), -1);
	f->vm.nr_vcpus = 1;
	f->vm.nr_virtio = 1;
	f->vm.virtio[0].base = 0x100000000ULL;   /* not reachable by Memory32Fixed */
	assert_int_equal(acpi_build(&f->vm), -1);
	fixture_free(f);

	/* guest RAM that stops short of the ACPI area */
	struct vm vm = { .nr_vcpus = 1 };
	static uint8_t low[0x1000];
	assert_int_equal(gmem_add_region(&vm.mem, 0, sizeof(low), low), 0);
	assert_int_equal(acpi_build(&vm), -1);
}

/* ---- iasl ---- */

static void dump(const char *dir, const char *name, const void *p, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void dump_tables(const struct fixture *f, const char *dir)
{
	static const char *const sigs[] = { "FACP", "APIC" };
	unsigned int nr;
	const uint8_t *x = rsdp_xsdt(f, &nr);
	const uint8_t *d = check_fadt(f);

	dump(dir, "rsdp.dat", guest(f, VM_ACPI_ADDR, 36), 36);
	dump(dir, "xsdt.dat", x, rd32(x + 4));
	dump(dir, "dsdt.dat", d, rd32(d + 4));
	for (size_t i = 0; i < 2; i++) {
		const uint8_t *t = xsdt_find(f, sigs[i]);
		char name[16];
		snprintf(name, sizeof(name), "%.4s.dat", sigs[i]);
		dump(dir, name, t, rd32(t + 4));
	}
}

/*
 * Disassembles every table and recompiles the result: iasl exits non-zero
 * on errors, and its summary line must report no warnings either.
 */
static void run_iasl(const char *dir)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && for t in xsdt dsdt FACP APIC; do "
		 "iasl -d $t.dat >iasl-d-$t.log 2>&1 || exit 1; "
		 "grep -qi 'error\\|warning' iasl-d-$t.log && exit 2; "
		 "iasl -p $t-re $t.dsl >iasl-c-$t.log 2>&1 || exit 3; "
		 "grep -q ' 0 Errors, 0 Warnings' iasl-c-$t.log || exit 4; "
		 "done", dir);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("iasl rejected the tables in %s (%d); see its iasl-*.log", dir, rc);
}

static void test_iasl(void **state)
{
	(void)state;
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		skip();

	const char *keep = getenv("VMK_ACPI_DUMP");
	char tmp[] = "/tmp/vmk-acpi-XXXXXX";
	const char *dir = keep && *keep ? keep : mkdtemp(tmp);
	assert_non_null(dir);

	struct fixture *f = fixture_new(64, VM_MAX_VIRTIO);
	assert_int_equal(acpi_build(&f->vm), 0);
	dump_tables(f, dir);
	fixture_free(f);
	run_iasl(dir);

	if (dir == tmp) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		assert_int_equal(system(cmd), 0);
	}
}

/* ---- AML encodings (ACPI 6.x, 20.2) ---- */

#define assert_aml(a, ...) do { \
		static const uint8_t want_[] = { __VA_ARGS__ }; \
		assert_false((a)->failed); \
		assert_int_equal((a)->len, sizeof(want_)); \
		assert_memory_equal((a)->buf, want_, sizeof(want_)); \
		aml_free(a); \
	} while (0)

static void test_aml_integers_and_names(void **state)
{
	(void)state;
	struct aml a = AML_INIT;

	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0xd0000000);
	aml_integer(&a, 0x100000000ULL);
	assert_aml(&a, 0x00, 0x01, 0x0a, 0x02, 0x0b, 0x34, 0x12, 0x0c, 0, 0, 0, 0xd0,
		   0x0e, 0, 0, 0, 0, 1, 0, 0, 0);

	aml_name(&a, "_S5");
	aml_name(&a, "\\_SB");
	aml_name(&a, "\\_SB.COM1");
	aml_name(&a, "^^A.B.C");
	assert_aml(&a, '_', 'S', '5', '_', 0x5c, '_', 'S', 'B', '_',
		   0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1',
		   0x5e, 0x5e, 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');

	aml_string(&a, "AB");
	aml_eisaid(&a, "PNP0501");
	assert_aml(&a, 0x0d, 'A', 'B', 0, 0x0c, 0x41, 0xd0, 0x05, 0x01);

	static const char *const bad[] = { "", "ABCDE", "1ABC", "ab", "A..B", "\\" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_name(&a, bad[i]);
		assert_true(a.failed);
		aml_free(&a);
	}
	aml_eisaid(&a, "pnp0501");
	assert_true(a.failed);
	aml_free(&a);
}

/* Buffer(N) of zero bytes: BufferOp, PkgLength, BufferSize, bytes. */
static void check_buffer_pkglen(size_t n, const uint8_t *pkglen, size_t pkglen_len)
{
	struct aml bytes = AML_INIT, a = AML_INIT;
	uint8_t *zero = calloc(1, n);
	assert_non_null(zero);
	aml_bytes(&bytes, zero, n);
	aml_buffer(&a, &bytes);
	assert_false(a.failed);
	assert_int_equal(a.buf[0], 0x11);
	assert_memory_equal(a.buf + 1, pkglen, pkglen_len);
	/* the PkgLength counts itself and everything after it */
	size_t size_len = n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
	assert_int_equal(a.len, 1 + pkglen_len + size_len + n);
	free(zero);
	aml_free(&bytes);
	aml_free(&a);
}

static void test_aml_pkglength(void **state)
{
	(void)state;
	check_buffer_pkglen(60, (const uint8_t[]){ 0x3f }, 1);         /* 63 */
	check_buffer_pkglen(61, (const uint8_t[]){ 0x41, 0x04 }, 2);   /* 65 */
	check_buffer_pkglen(4090, (const uint8_t[]){ 0x4f, 0xff }, 2); /* 4095 */
	check_buffer_pkglen(4091, (const uint8_t[]){ 0x81, 0x00, 0x01 }, 3); /* 4097 */
	check_buffer_pkglen(0x100000, (const uint8_t[]){ 0xc9, 0x00, 0x00, 0x01 }, 4);
}

static void test_aml_resources(void **state)
{
	(void)state;
	struct aml r = AML_INIT, a = AML_INIT;

	aml_res_irq(&r, 4);
	aml_resource_template(&a, &r);
	/* Buffer, PkgLength 8, size 5, IRQNoFlags {4}, end tag, checksum */
	assert_aml(&a, 0x11, 0x08, 0x0a, 0x05, 0x22, 0x10, 0x00, 0x79, 0x55);
	aml_free(&r);

	aml_res_irq(&r, 16);
	assert_true(r.failed);
	aml_free(&r);
}

static void test_aml_methods(void **state)
{
	(void)state;
	struct aml a = AML_INIT, body = AML_INIT, pred = AML_INIT;

	aml_region_io(&a, "REG", 0x60, 4);
	assert_aml(&a, 0x5b, 0x80, 'R', 'E', 'G', '_', 0x01, 0x0a, 0x60, 0x0a, 0x04);
	aml_field_byte(&a, "REG", "F", 3);
	assert_aml(&a, 0x5b, 0x81, 0x0b, 'R', 'E', 'G', '_', 0x01, 'F', '_', '_', '_', 0x03);

	/* Method(M, 2, NotSerialized) { Store(Zero, X) }: PkgLength 12 counts itself */
	aml_store(&body);
	aml_integer(&body, 0);
	aml_name(&body, "X");
	aml_method(&a, "M", 2, false, &body);
	assert_aml(&a, 0x14, 0x0c, 'M', '_', '_', '_', 0x02, 0x70, 0x00, 'X', '_', '_', '_');
	aml_free(&body);

	aml_and(&pred);
	aml_integer(&pred, 2);
	aml_integer(&pred, 3);
	aml_null_name(&pred);
	aml_notify(&body);
	aml_name(&body, "D");
	aml_integer(&body, 0x80);
	aml_if(&a, &pred, &body);
	/* If (And(2, 3)) { Notify(D, 0x80) } */
	assert_aml(&a, 0xa0, 0x0e, 0x7b, 0x0a, 0x02, 0x0a, 0x03, 0x00,
		   0x86, 'D', '_', '_', '_', 0x0a, 0x80);
	aml_free(&pred);

	aml_method(&a, "M", 8, true, &body);
	assert_true(a.failed);
	aml_free(&a);
	aml_free(&body);
	static const char *const bad_fields[] = { "", "A.B", "\\A", "ABCDE", "1A" };
	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		aml_field_byte(&a, "REG", bad_fields[i], 8);
		assert_true(a.failed);
		aml_free(&a);
	}
	aml_field_byte(&a, "REG", "F", 0);
	assert_true(a.failed);
	aml_free(&a);
	aml_field_byte(&a, "REG", "F", 64);
	assert_true(a.failed);
	aml_free(&a);
}

/* ---- MP table ---- */

struct mp_counts {
	unsigned int cpus, bsps, buses, ioapics, ioints, localints;
};

static void mp_entry(const struct fixture *f, const uint8_t *e, struct mp_counts *c)
{
	switch (e[0]) {
	case 0:
		assert_int_equal(e[1], c->cpus);                /* APIC id */
		assert_true(e[3] & 1);                          /* enabled */
		c->bsps += (e[3] & 2) != 0;
		assert_int_equal(!!(e[3] & 2), c->cpus == 0);
		c->cpus++;
		break;
	case 1:
		assert_memory_equal(e + 2, "ISA   ", 6);
		c->buses++;
		break;
	case 2:
		assert_int_equal(e[1], f->vm.nr_vcpus);
		assert_int_equal(e[2], 0x11);
		assert_int_equal(rd32(e + 4), 0xfec00000);
		c->ioapics++;
		break;
	case 3:
		assert_int_equal(e[5], e[7]);                   /* IRQ n -> pin n */
		assert_int_equal(e[6], f->vm.nr_vcpus);
		c->ioints++;
		break;
	case 4:
		assert_int_equal(e[1], c->localints == 0 ? 3 : 1); /* ExtINT, NMI */
		assert_int_equal(e[7], c->localints);           /* LINT0, LINT1 */
		assert_int_equal(e[6], 0xff);
		c->localints++;
		break;
	default:
		fail_msg("unexpected MP entry type %u", e[0]);
	}
}

static void check_mptable(const struct fixture *f, unsigned int extra_irqs)
{
	const uint8_t *fp = guest(f, VM_MPTABLE_ADDR, 16);
	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1);
	assert_int_equal(fp[9], 4);
	assert_int_equal(sum(fp, 16), 0);
	assert_int_equal(fp[11], 0);            /* config table present */

	uint32_t cfg = rd32(fp + 4);
	const uint8_t *h = guest(f, cfg, 44);
	assert_memory_equal(h, "PCMP", 4);
	uint16_t len = rd16(h + 4);
	assert_true(cfg + len <= VM_ACPI_ADDR);
	const uint8_t *t = guest(f, cfg, len);
	assert_int_equal(sum(t, len), 0);
	assert_int_equal(rd32(t + 36), 0xfee00000);

	struct mp_counts c = { 0 };
	unsigned int off = 44, n = rd16(t + 34);
	for (unsigned int i = 0; i < n; i++) {
		assert_true(off < len);
		mp_entry(f, t + off, &c);
		off += t[off] == 0 ? 20 : 8;
	}
	assert_int_equal(off, len);
	assert_int_equal(c.cpus, f->vm.nr_vcpus);
	assert_int_equal(c.bsps, 1);
	assert_int_equal(c.buses, 1);
	assert_int_equal(c.ioapics, 1);
	assert_int_equal(c.ioints, 16 + extra_irqs);
	assert_int_equal(c.localints, 2);
}

static void test_mptable(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(3, 2);

	assert_int_equal(mptable_build(&f->vm), 0);
	check_mptable(f, 0);            /* irqs 5 and 6 are among ISA 0-15 */
	fixture_free(f);

	f = fixture_new(64, VM_MAX_VIRTIO);     /* irqs 5..20: 16-20 added */
	assert_int_equal(mptable_build(&f->vm), 0);
	check_mptable(f, 5);
	fixture_free(f);

	f = fixture_new(0, 0);
	assert_int_equal(mptable_build(&f->vm), -1);
	fixture_free(f);

	/* guest RAM that stops short of the EBDA */
	struct vm vm = { .nr_vcpus = 1 };
	static uint8_t low[0x1000];
	assert_int_equal(gmem_add_region(&vm.mem, 0, sizeof(low), low), 0);
	assert_int_equal(mptable_build(&vm), -1);
}

/* ---- acpi_pm ---- */

static void pio_write(struct vm *vm, uint16_t port, uint8_t v)
{
	assert_true(bus_access(&vm->pio, port, &v, 1, true));
}

static void test_acpi_pm(void **state)
{
	(void)state;
	struct vm vm = { 0 };
	uint8_t v = 0xff;
	uint8_t s5 = ACPI_PM_SLP_EN | ACPI_PM_S5_SLP_TYP << ACPI_PM_SLP_TYP_SHIFT;

	assert_int_equal(acpi_pm_init(&vm), 0);
	assert_int_equal(acpi_pm_init(&vm), -1);
	stop_calls = 0;

	for (uint16_t port = ACPI_PM_PORT_BASE; port < ACPI_PM_PORT_BASE + ACPI_PM_NR_PORTS; port++) {
		v = 0xff;
		assert_true(bus_access(&vm.pio, port, &v, 1, false));
		assert_int_equal(v, 0);
	}
	pio_write(&vm, ACPI_PM_SLEEP_STS_PORT, ACPI_PM_WAK_STS);
	pio_write(&vm, ACPI_PM_SLEEP_CTL_PORT, (uint8_t)(s5 & ~ACPI_PM_SLP_EN)); /* no SLP_EN */
	pio_write(&vm, ACPI_PM_SLEEP_CTL_PORT, ACPI_PM_SLP_EN | 3 << 2); /* S3: not offered */
	pio_write(&vm, ACPI_PM_RESET_PORT, ACPI_PM_RESET_VALUE + 1);
	assert_int_equal(stop_calls, 0);

	pio_write(&vm, ACPI_PM_SLEEP_CTL_PORT, s5);
	assert_int_equal(stop_calls, 1);
	assert_int_equal(stop_why, VM_STOP_POWEROFF);
	pio_write(&vm, ACPI_PM_RESET_PORT, ACPI_PM_RESET_VALUE);
	assert_int_equal(stop_calls, 2);
	assert_int_equal(stop_why, VM_STOP_RESET);

	/* a 16-bit write counts by its low byte */
	uint16_t w = s5;
	assert_true(bus_access(&vm.pio, ACPI_PM_SLEEP_CTL_PORT, &w, 2, true));
	assert_int_equal(stop_calls, 3);
}

/* ---- Generic Event Device ---- */

static uint8_t ged_read(struct vm *vm)
{
	uint8_t v = 0xee;
	assert_true(bus_access(&vm->pio, ACPI_GED_EVT_PORT, &v, 1, false));
	return v;
}

static void test_acpi_ged(void **state)
{
	(void)state;
	struct vm vm = { 0 };

	acpi_ged_raise(&vm, ACPI_GED_PWR_BUTTON);       /* no device yet: nothing */
	irq_calls = 0;
	assert_int_equal(acpi_ged_init(&vm), 0);
	assert_non_null(vm.ged);
	assert_int_equal(irq_calls, 0);
	assert_int_equal(ged_read(&vm), 0);

	/* a press latches the bit and raises the level line once */
	acpi_ged_raise(&vm, ACPI_GED_PWR_BUTTON);
	assert_int_equal(irq_calls, 1);
	assert_int_equal(irq_gsi, ACPI_GED_GSI);
	assert_int_equal(irq_level, 1);
	acpi_ged_raise(&vm, ACPI_GED_PWR_BUTTON);       /* pressed again before the ack */
	assert_int_equal(irq_calls, 1);
	assert_int_equal(ged_read(&vm), ACPI_GED_PWR_BUTTON);
	assert_int_equal(ged_read(&vm), ACPI_GED_PWR_BUTTON);  /* reading does not clear */

	/* writing 0 clears nothing; writing the bit clears it and drops the line */
	uint8_t v = 0;
	assert_true(bus_access(&vm.pio, ACPI_GED_EVT_PORT, &v, 1, true));
	assert_int_equal(irq_calls, 1);
	assert_int_equal(ged_read(&vm), ACPI_GED_PWR_BUTTON);
	v = ACPI_GED_PWR_BUTTON;
	assert_true(bus_access(&vm.pio, ACPI_GED_EVT_PORT, &v, 1, true));
	assert_int_equal(irq_calls, 2);
	assert_int_equal(irq_level, 0);
	assert_int_equal(ged_read(&vm), 0);

	/* a wider read sees the register in its low byte, zeros above */
	acpi_ged_raise(&vm, ACPI_GED_PWR_BUTTON);
	uint32_t d = 0xffffffff;
	assert_true(bus_access(&vm.pio, ACPI_GED_EVT_PORT, &d, 4, false));
	assert_int_equal(d, ACPI_GED_PWR_BUTTON);
	d = 0xff;
	assert_true(bus_access(&vm.pio, ACPI_GED_EVT_PORT, &d, 4, true));
	assert_int_equal(irq_level, 0);

	/* the port is claimed once; the ACPI PM ports next to it stay free */
	assert_int_equal(acpi_ged_init(&vm), -1);
	assert_int_equal(acpi_pm_init(&vm), 0);
	acpi_ged_destroy(&vm);
	assert_null(vm.ged);
	acpi_ged_raise(&vm, ACPI_GED_PWR_BUTTON);       /* gone: nothing happens */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small),
		cmocka_unit_test(test_e820_above_gap),
		cmocka_unit_test(test_e820_max),
		cmocka_unit_test(test_acpi_tables),
		cmocka_unit_test(test_acpi_vcpu_counts),
		cmocka_unit_test(test_acpi_refuses),
		cmocka_unit_test(test_iasl),
		cmocka_unit_test(test_aml_integers_and_names),
		cmocka_unit_test(test_aml_pkglength),
		cmocka_unit_test(test_aml_resources),
		cmocka_unit_test(test_aml_methods),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_acpi_pm),
		cmocka_unit_test(test_acpi_ged),
	};
	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
