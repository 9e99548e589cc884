/*
 * AML assembler.  Each function appends one encoded term; see aml.h.
 * Opcodes and encodings are those of the ACPI 6.x specification,
 * section 20.2 (AML grammar) and 6.4 (resource data types).
 */
#include "x86/aml.h"

#include <stdlib.h>
#include <string.h>

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX 0x5e
#define AML_METHOD_OP 0x14
#define AML_STORE_OP 0x70
#define AML_AND_OP 0x7b
#define AML_NOTIFY_OP 0x86
#define AML_IF_OP 0xa0
#define AML_NULL_NAME 0x00
#define AML_REGION_OP 0x80     /* after AML_EXT_OP_PREFIX */
#define AML_FIELD_OP 0x81      /* after AML_EXT_OP_PREFIX */
#define AML_DEVICE_OP 0x82     /* after AML_EXT_OP_PREFIX */

#define REGION_SYSTEM_IO 0x01
#define FIELD_BYTE_ACC 0x01    /* NoLock and Preserve are 0 */
#define METHOD_SERIALIZED 0x08 /* bits 2-0 are the argument count */
#define METHOD_MAX_ARGS 7

#define RES_IO 0x47            /* small item 0x08, 7 bytes */
#define RES_IRQ 0x22           /* small item 0x04, 2 bytes */
#define RES_END_TAG 0x79       /* small item 0x0f, 1 byte */
#define RES_MEM32_FIXED 0x86   /* large item 0x06 */
#define RES_EXT_IRQ 0x89       /* large item 0x09 */

#define EXT_IRQ_CONSUMER 0x01
#define EXT_IRQ_EDGE 0x02      /* active high and exclusive are 0 */
#define EXT_IRQ_LEVEL 0x00

#define NAME_SEG_LEN 4
#define MAX_NAME_SEGS 255

void aml_free(struct aml *a)
{
	free(a->buf);
	*a = (struct aml)AML_INIT;
}

static bool reserve(struct aml *a, size_t n)
{
	if (a->failed)
		return false;
	if (a->len + n <= a->cap)
		return true;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	uint8_t *p = realloc(a->buf, cap);
	if (!p) {
		a->failed = true;
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (n == 0 || !reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_u8(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

void aml_u16(struct aml *a, uint16_t v)
{
	aml_u8(a, (uint8_t)v);
	aml_u8(a, (uint8_t)(v >> 8));
}

void aml_u32(struct aml *a, uint32_t v)
{
	aml_u16(a, (uint16_t)v);
	aml_u16(a, (uint16_t)(v >> 16));
}

static void aml_u64(struct aml *a, uint64_t v)
{
	aml_u32(a, (uint32_t)v);
	aml_u32(a, (uint32_t)(v >> 32));
}

void aml_append(struct aml *a, const struct aml *child)
{
	if (child->failed)
		a->failed = true;
	else
		aml_bytes(a, child->buf, child->len);
}

/*
 * PkgLength for a body of len bytes.  The encoded value counts the
 * PkgLength bytes themselves.  One byte holds up to 63; otherwise the
 * lead byte's bits 7-6 say how many bytes follow, its bits 3-0 are the
 * low nibble and each following byte the next 8 bits.
 */
static void aml_pkglen(struct aml *a, size_t len)
{
	if (len + 1 <= 0x3f) {
		aml_u8(a, (uint8_t)(len + 1));
		return;
	}
	for (unsigned int n = 1; n <= 3; n++) {
		size_t total = len + 1 + n;
		if (total >= (size_t)1 << (4 + 8 * n))
			continue;
		aml_u8(a, (uint8_t)((n << 6) | (total & 0xf)));
		for (unsigned int i = 0; i < n; i++)
			aml_u8(a, (uint8_t)(total >> (4 + 8 * i)));
		return;
	}
	a->failed = true;
}

static bool name_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return name_lead_char(c) || (c >= '0' && c <= '9');
}

/* One NameSeg from s (up to '.' or the end), padded with '_'; its length or 0. */
static size_t aml_name_seg(struct aml *a, const char *s)
{
	size_t n = strcspn(s, ".");
	if (n == 0 || n > NAME_SEG_LEN || !name_lead_char(s[0])) {
		a->failed = true;
		return 0;
	}
	char seg[NAME_SEG_LEN] = { '_', '_', '_', '_' };
	for (size_t i = 0; i < n; i++) {
		if (!name_char(s[i])) {
			a->failed = true;
			return 0;
		}
		seg[i] = s[i];
	}
	aml_bytes(a, seg, NAME_SEG_LEN);
	return n;
}

static unsigned int count_segs(const char *s)
{
	unsigned int n = *s ? 1 : 0;
	for (; *s; s++)
		n += *s == '.';
	return n;
}

void aml_name(struct aml *a, const char *path)
{
	if (*path == '\\') {
		aml_u8(a, AML_ROOT_CHAR);
		path++;
	}
	for (; *path == '^'; path++)
		aml_u8(a, AML_PARENT_PREFIX);

	unsigned int nr = count_segs(path);
	if (nr == 0 || nr > MAX_NAME_SEGS) {
		a->failed = true;
		return;
	}
	if (nr == 2) {
		aml_u8(a, AML_DUAL_NAME_PREFIX);
	} else if (nr > 2) {
		aml_u8(a, AML_MULTI_NAME_PREFIX);
		aml_u8(a, (uint8_t)nr);
	}
	for (unsigned int i = 0; i < nr && !a->failed; i++) {
		path += aml_name_seg(a, path);
		path += *path == '.';
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_u8(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_u8(a, AML_ONE_OP);
	} else if (v <= UINT8_MAX) {
		aml_u8(a, AML_BYTE_PREFIX);
		aml_u8(a, (uint8_t)v);
	} else if (v <= UINT16_MAX) {
		aml_u8(a, AML_WORD_PREFIX);
		aml_u16(a, (uint16_t)v);
	} else if (v <= UINT32_MAX) {
		aml_u8(a, AML_DWORD_PREFIX);
		aml_u32(a, (uint32_t)v);
	} else {
		aml_u8(a, AML_QWORD_PREFIX);
		aml_u64(a, v);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_u8(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Three letters of 5 bits each ('A' = 1) in bits 14-0 of the first two
 * bytes, then four hex digits as two bytes, first byte first.
 */
void aml_eisaid(struct aml *a, const char *id)
{
	uint8_t b[4];
	uint16_t vendor = 0, product = 0;

	if (strlen(id) != 7) {
		a->failed = true;
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			a->failed = true;
		vendor = (uint16_t)(vendor << 5 | (id[i] - 'A' + 1));
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);
		if (d < 0)
			a->failed = true;
		product = (uint16_t)(product << 4 | (d & 0xf));
	}
	b[0] = (uint8_t)(vendor >> 8);
	b[1] = (uint8_t)vendor;
	b[2] = (uint8_t)(product >> 8);
	b[3] = (uint8_t)product;
	aml_u8(a, AML_DWORD_PREFIX);
	aml_bytes(a, b, sizeof(b));
}

void aml_name_def(struct aml *a, const char *name)
{
	aml_u8(a, AML_NAME_OP);
	aml_name(a, name);
}

/* PkgLength, then head (may be NULL) and body. */
static void aml_pkg(struct aml *a, const struct aml *head, const struct aml *body)
{
	size_t hlen = head ? head->len : 0;
	if (head && head->failed)
		a->failed = true;
	aml_pkglen(a, hlen + body->len);
	if (head)
		aml_append(a, head);
	aml_append(a, body);
}

static void aml_named_pkg(struct aml *a, const char *name, const struct aml *body)
{
	struct aml head = AML_INIT;
	aml_name(&head, name);
	aml_pkg(a, &head, body);
	aml_free(&head);
}

void aml_scope(struct aml *a, const char *name, const struct aml *body)
{
	aml_u8(a, AML_SCOPE_OP);
	aml_named_pkg(a, name, body);
}

void aml_device(struct aml *a, const char *name, const struct aml *body)
{
	aml_u8(a, AML_EXT_OP_PREFIX);
	aml_u8(a, AML_DEVICE_OP);
	aml_named_pkg(a, name, body);
}

void aml_package(struct aml *a, unsigned int nr, const struct aml *elements)
{
	struct aml head = AML_INIT;
	if (nr > UINT8_MAX)
		a->failed = true;
	aml_u8(&head, (uint8_t)nr);
	aml_u8(a, AML_PACKAGE_OP);
	aml_pkg(a, &head, elements);
	aml_free(&head);
}

void aml_buffer(struct aml *a, const struct aml *bytes)
{
	struct aml head = AML_INIT;
	aml_integer(&head, bytes->len);
	aml_u8(a, AML_BUFFER_OP);
	aml_pkg(a, &head, bytes);
	aml_free(&head);
}

void aml_region_io(struct aml *a, const char *name, uint16_t port, uint16_t len)
{
	aml_u8(a, AML_EXT_OP_PREFIX);
	aml_u8(a, AML_REGION_OP);
	aml_name(a, name);
	aml_u8(a, REGION_SYSTEM_IO);
	aml_integer(a, port);
	aml_integer(a, len);
}

/*
 * FieldList element NamedField: a NameSeg and the field's width in bits,
 * encoded like a PkgLength that does not count itself.  Widths up to 63
 * bits take the one-byte form, all a byte register needs.
 */
void aml_field_byte(struct aml *a, const char *region, const char *field, uint8_t bits)
{
	struct aml head = AML_INIT, list = AML_INIT;

	if (bits == 0 || bits > 0x3f)
		a->failed = true;
	aml_name(&head, region);
	aml_u8(&head, FIELD_BYTE_ACC);
	if (aml_name_seg(&list, field) != strlen(field))
		a->failed = true;
	aml_u8(&list, bits);
	aml_u8(a, AML_EXT_OP_PREFIX);
	aml_u8(a, AML_FIELD_OP);
	aml_pkg(a, &head, &list);
	aml_free(&head);
	aml_free(&list);
}

void aml_method(struct aml *a, const char *name, unsigned int nargs, bool serialized,
		const struct aml *body)
{
	struct aml head = AML_INIT;

	if (nargs > METHOD_MAX_ARGS)
		a->failed = true;
	aml_name(&head, name);
	aml_u8(&head, (uint8_t)((nargs & METHOD_MAX_ARGS) | (serialized ? METHOD_SERIALIZED : 0)));
	aml_u8(a, AML_METHOD_OP);
	aml_pkg(a, &head, body);
	aml_free(&head);
}

void aml_if(struct aml *a, const struct aml *predicate, const struct aml *body)
{
	aml_u8(a, AML_IF_OP);
	aml_pkg(a, predicate, body);
}

void aml_store(struct aml *a)
{
	aml_u8(a, AML_STORE_OP);
}

void aml_and(struct aml *a)
{
	aml_u8(a, AML_AND_OP);
}

void aml_notify(struct aml *a)
{
	aml_u8(a, AML_NOTIFY_OP);
}

void aml_null_name(struct aml *a)
{
	aml_u8(a, AML_NULL_NAME);
}

void aml_res_io16(struct aml *r, uint16_t base, uint8_t len)
{
	aml_u8(r, RES_IO);
	aml_u8(r, 0x01);        /* decodes 16 address bits */
	aml_u16(r, base);       /* minimum base */
	aml_u16(r, base);       /* maximum base */
	aml_u8(r, 0);           /* alignment: fixed, so none */
	aml_u8(r, len);
}

void aml_res_irq(struct aml *r, unsigned int irq)
{
	if (irq > 15)
		r->failed = true;
	aml_u8(r, RES_IRQ);
	aml_u16(r, (uint16_t)(1u << (irq & 15)));
}

void aml_res_mem32_fixed(struct aml *r, uint32_t base, uint32_t len)
{
	aml_u8(r, RES_MEM32_FIXED);
	aml_u16(r, 9);          /* bytes after the length field */
	aml_u8(r, 0x01);        /* read/write */
	aml_u32(r, base);
	aml_u32(r, len);
}

static void ext_irq(struct aml *r, uint32_t gsi, uint8_t trigger)
{
	aml_u8(r, RES_EXT_IRQ);
	aml_u16(r, 6);          /* flags, count, one interrupt number */
	aml_u8(r, EXT_IRQ_CONSUMER | trigger);
	aml_u8(r, 1);
	aml_u32(r, gsi);
}

void aml_res_ext_irq(struct aml *r, uint32_t gsi)
{
	ext_irq(r, gsi, EXT_IRQ_EDGE);
}

void aml_res_ext_irq_level(struct aml *r, uint32_t gsi)
{
	ext_irq(r, gsi, EXT_IRQ_LEVEL);
}

/* The end tag's second byte makes all bytes of the template sum to 0. */
void aml_resource_template(struct aml *a, const struct aml *res)
{
	struct aml t = AML_INIT;
	uint8_t sum = RES_END_TAG;

	aml_append(&t, res);
	for (size_t i = 0; i < res->len; i++)
		sum = (uint8_t)(sum + res->buf[i]);
	aml_u8(&t, RES_END_TAG);
	aml_u8(&t, (uint8_t)-sum);
	aml_buffer(a, &t);
	aml_free(&t);
}
