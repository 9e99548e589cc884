/*
 * Platform discovery: CPUs (local APIC ids), IOAPICs and ISA interrupt
 * source overrides.
 *
 * First choice is ACPI: the RSDP from start_info.rsdp_paddr, or found by
 * scanning the EBDA and 0xe0000-0xfffff for "RSD PTR "; then the XSDT
 * (revision >= 2) or the RSDT, and in it the MADT ("APIC").  Only local
 * APIC entries with the enabled flag count as CPUs.  Without a usable MADT
 * the MP table is used: its floating pointer "_MP_" is searched in the
 * EBDA, 0x9fc00-0xa0000 and 0xf0000-0xfffff.  Tables with bad checksums
 * are reported and ignored.
 */
#include "guest.h"

static uint8_t sum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static bool rsdp_valid(const uint8_t *p)
{
	if (memcmp(p, "RSD PTR ", 8) != 0 || sum8(p, 20) != 0)
		return false;
	if (p[15] >= 2) {
		uint32_t len = rd32(p + 20);
		if (len < 36 || len > 64 || sum8(p, len) != 0)
			return false;
	}
	return true;
}

static const uint8_t *scan(uintptr_t from, uintptr_t to, const char *sig, bool (*ok)(const uint8_t *))
{
	for (uintptr_t a = from; a + 16 <= to; a += 16) {
		const uint8_t *p = (const uint8_t *)a;
		if (p[0] == (uint8_t)sig[0] && memcmp(p, sig, 4) == 0 && ok(p))
			return p;
	}
	return NULL;
}

static uintptr_t ebda(void)
{
	uintptr_t seg = *(const volatile uint16_t *)0x40e;
	uintptr_t a = seg << 4;
	return (a >= 0x80000 && a < 0xa0000) ? a : 0;
}

static const uint8_t *find_rsdp(void)
{
	if (start_info && start_info->rsdp_paddr) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)start_info->rsdp_paddr;
		if (rsdp_valid(p))
			return p;
		printf("acpi: start_info.rsdp_paddr %#lx has no valid RSDP\n",
		       (unsigned long)start_info->rsdp_paddr);
	}
	const uint8_t *p = NULL;
	uintptr_t e = ebda();
	if (e)
		p = scan(e, e + 1024, "RSD ", rsdp_valid);
	if (!p)
		p = scan(0xe0000, 0x100000, "RSD ", rsdp_valid);
	return p;
}

static bool table_ok(const uint8_t *t, const char *sig)
{
	if (memcmp(t, sig, 4) != 0)
		return false;
	uint32_t len = rd32(t + 4);
	if (len < 36 || len > (1u << 20))
		return false;
	if (sum8(t, len) != 0) {
		printf("acpi: %.4s table at %p has a bad checksum\n", sig, (const void *)t);
		return false;
	}
	return true;
}

static const uint8_t *find_madt(const uint8_t *rsdp)
{
	const uint8_t *root;
	unsigned esz;
	if (rsdp[15] >= 2 && rd64(rsdp + 24)) {
		root = (const uint8_t *)(uintptr_t)rd64(rsdp + 24);
		esz = 8;
		if (!table_ok(root, "XSDT"))
			return NULL;
	} else {
		root = (const uint8_t *)(uintptr_t)rd32(rsdp + 16);
		esz = 4;
		if (!table_ok(root, "RSDT"))
			return NULL;
	}
	uint32_t len = rd32(root + 4);
	for (uint32_t off = 36; off + esz <= len; off += esz) {
		uint64_t a = esz == 8 ? rd64(root + off) : rd32(root + off);
		const uint8_t *t = (const uint8_t *)(uintptr_t)a;
		if (a && a < 0x100000000ull && memcmp(t, "APIC", 4) == 0 && table_ok(t, "APIC"))
			return t;
	}
	return NULL;
}

static void add_cpu(struct platform *p, uint32_t id)
{
	if (p->ncpus < PLAT_MAX_CPUS)
		p->apic_id[p->ncpus++] = id;
}

static void parse_madt(struct platform *p, const uint8_t *t)
{
	uint32_t len = rd32(t + 4);
	p->lapic_addr = rd32(t + 36);
	for (uint32_t off = 44; off + 2 <= len;) {
		const uint8_t *e = t + off;
		uint8_t type = e[0], elen = e[1];
		if (elen < 2 || off + elen > len)
			break;
		switch (type) {
		case 0:         /* processor local APIC */
			if (elen >= 8 && (rd32(e + 4) & 1))
				add_cpu(p, e[3]);
			break;
		case 1:         /* IOAPIC */
			if (elen >= 12 && p->nioapics < PLAT_MAX_IOAPICS) {
				p->ioapic[p->nioapics].id = e[2];
				p->ioapic[p->nioapics].addr = rd32(e + 4);
				p->ioapic[p->nioapics].gsi_base = rd32(e + 8);
				p->nioapics++;
			}
			break;
		case 2:         /* interrupt source override */
			if (elen >= 10 && e[2] == 0 && p->nisos < PLAT_MAX_ISOS) {
				p->iso[p->nisos].irq = e[3];
				p->iso[p->nisos].gsi = rd32(e + 4);
				p->iso[p->nisos].flags = rd16(e + 8);
				p->nisos++;
			}
			break;
		case 9:         /* processor local x2APIC */
			if (elen >= 16 && (rd32(e + 8) & 1))
				add_cpu(p, rd32(e + 4));
			break;
		}
		off += elen;
	}
}

/* ---- MP specification 1.4 tables ---- */

static bool mpf_valid(const uint8_t *p)
{
	return memcmp(p, "_MP_", 4) == 0 && p[8] == 1 && sum8(p, 16) == 0;
}

static bool parse_mp(struct platform *p)
{
	const uint8_t *f = NULL;
	uintptr_t e = ebda();
	if (e)
		f = scan(e, e + 1024, "_MP_", mpf_valid);
	if (!f)
		f = scan(0x9fc00, 0xa0000, "_MP_", mpf_valid);
	if (!f)
		f = scan(0xf0000, 0x100000, "_MP_", mpf_valid);
	if (!f || !rd32(f + 4))
		return false;
	const uint8_t *c = (const uint8_t *)(uintptr_t)rd32(f + 4);
	if (memcmp(c, "PCMP", 4) != 0)
		return false;
	uint16_t len = rd16(c + 4), count = rd16(c + 34);
	if (len < 44 || sum8(c, len) != 0) {
		printf("mp: configuration table at %p has a bad checksum\n", (const void *)c);
		return false;
	}
	p->lapic_addr = rd32(c + 36);
	int isa_bus = -1;
	uint32_t next_gsi = 0;
	const uint8_t *q = c + 44, *end = c + len;
	for (uint16_t i = 0; i < count && q < end; i++) {
		switch (q[0]) {
		case 0:         /* processor */
			if (q[3] & 1)
				add_cpu(p, q[1]);
			q += 20;
			break;
		case 1:         /* bus */
			if (memcmp(q + 2, "ISA   ", 6) == 0)
				isa_bus = q[1];
			q += 8;
			break;
		case 2:         /* IOAPIC */
			if ((q[3] & 1) && p->nioapics < PLAT_MAX_IOAPICS) {
				uint32_t addr = rd32(q + 4);
				p->ioapic[p->nioapics].id = q[1];
				p->ioapic[p->nioapics].addr = addr;
				p->ioapic[p->nioapics].gsi_base = next_gsi;
				next_gsi += ioapic_pins(addr);
				p->nioapics++;
			}
			q += 8;
			break;
		case 3:         /* I/O interrupt assignment */
			if (q[1] == 0 && isa_bus >= 0 && q[4] == isa_bus && p->nisos < PLAT_MAX_ISOS) {
				for (unsigned k = 0; k < p->nioapics; k++) {
					if (p->ioapic[k].id == q[6] || q[6] == 0xff) {
						p->iso[p->nisos].irq = q[5];
						p->iso[p->nisos].gsi = p->ioapic[k].gsi_base + q[7];
						p->iso[p->nisos].flags = rd16(q + 2);
						p->nisos++;
						break;
					}
				}
			}
			q += 8;
			break;
		default:        /* type 4 and unknown 8-byte entries */
			q += 8;
			break;
		}
	}
	return p->ncpus > 0;
}

bool platform_probe(struct platform *p)
{
	memset(p, 0, sizeof(*p));
	const uint8_t *rsdp = find_rsdp();
	const uint8_t *madt = rsdp ? find_madt(rsdp) : NULL;
	if (madt) {
		p->source = "acpi";
		parse_madt(p, madt);
		if (p->ncpus)
			return true;
		memset(p, 0, sizeof(*p));
	}
	if (parse_mp(p)) {
		p->source = "mp";
		return true;
	}
	return false;
}

void platform_isa_irq(const struct platform *p, unsigned irq, uint32_t *gsi, uint16_t *flags)
{
	*gsi = irq;
	*flags = 0;             /* conforms to the bus: ISA is edge, active high */
	for (unsigned i = 0; i < p->nisos; i++) {
		if (p->iso[i].irq == irq) {
			*gsi = p->iso[i].gsi;
			*flags = p->iso[i].flags;
			return;
		}
	}
}

uintptr_t platform_ioapic_for(const struct platform *p, uint32_t gsi, unsigned *pin)
{
	for (unsigned i = 0; i < p->nioapics; i++) {
		uintptr_t a = p->ioapic[i].addr;
		uint32_t base = p->ioapic[i].gsi_base;
		if (gsi >= base && gsi < base + ioapic_pins(a)) {
			*pin = gsi - base;
			return a;
		}
	}
	return 0;
}
