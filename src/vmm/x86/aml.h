/*
 * A small AML (ACPI Machine Language) assembler for the DSDT, written
 * from the ACPI 6.x specification, chapter 20 (AML encoding) and 6.4
 * (resource descriptors).
 *
 * Everything is appended to a struct aml, a growing byte buffer.  Things
 * with a PkgLength (Scope, Device, Package, Buffer) take their body as a
 * finished struct aml, because the length encoding in front of a body
 * depends on the body's size.  Allocation failure is sticky: it sets
 * .failed, later appends do nothing, and the caller checks once at the
 * end.  The same buffer type also assembles whole ACPI tables.
 */
#ifndef VMK_X86_AML_H
#define VMK_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool failed;
};

#define AML_INIT { 0 }

void aml_free(struct aml *a);

/* Raw bytes and little-endian integers. */
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_u8(struct aml *a, uint8_t v);
void aml_u16(struct aml *a, uint16_t v);
void aml_u32(struct aml *a, uint32_t v);
/* Appends child's bytes (and its failure). */
void aml_append(struct aml *a, const struct aml *child);

/*
 * NameString: "\\_SB.COM1", "_HID", "^FOO"...  Segments shorter than four
 * characters are padded with '_' ("_S5" is "_S5_").
 */
void aml_name(struct aml *a, const char *path);
/* Integer in its shortest encoding (Zero, One, Byte/Word/DWord/QWord). */
void aml_integer(struct aml *a, uint64_t v);
/* String constant. */
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501"): the compressed 32-bit PNP id as a DWord. */
void aml_eisaid(struct aml *a, const char *id);

/* Name(name, ...): append the value object right after. */
void aml_name_def(struct aml *a, const char *name);
/* Scope(name) { body } and Device(name) { body }. */
void aml_scope(struct aml *a, const char *name, const struct aml *body);
void aml_device(struct aml *a, const char *name, const struct aml *body);
/* Package(nr) { elements }: elements holds nr data objects. */
void aml_package(struct aml *a, unsigned int nr, const struct aml *elements);
/* Buffer() { bytes }. */
void aml_buffer(struct aml *a, const struct aml *bytes);

/* OperationRegion(name, SystemIO, port, len) */
void aml_region_io(struct aml *a, const char *name, uint16_t port, uint16_t len);
/* Field(region, ByteAcc, NoLock, Preserve) { field, bits }: one field at offset 0. */
void aml_field_byte(struct aml *a, const char *region, const char *field, uint8_t bits);
/* Method(name, nargs, Serialized or NotSerialized) { body } */
void aml_method(struct aml *a, const char *name, unsigned int nargs, bool serialized,
		const struct aml *body);
/* If (predicate) { body }: predicate is one encoded TermArg. */
void aml_if(struct aml *a, const struct aml *predicate, const struct aml *body);

/*
 * Operators.  AML is prefix notation: each of these appends the opcode,
 * and the caller appends the operands right after it, in ASL order.
 */
void aml_store(struct aml *a);          /* Store(src, dst): src, dst */
void aml_and(struct aml *a);            /* And(x, y, target): x, y, target */
void aml_notify(struct aml *a);         /* Notify(object, value): object, value */
void aml_null_name(struct aml *a);      /* no target: the result is dropped */

/* Resource descriptors, appended to a template under construction. */
/* IO(Decode16, base, base, 0, len) */
void aml_res_io16(struct aml *r, uint16_t base, uint8_t len);
/* IRQNoFlags() { irq }: ISA irq 0-15, edge, active high, exclusive. */
void aml_res_irq(struct aml *r, unsigned int irq);
/* Memory32Fixed(ReadWrite, base, len) */
void aml_res_mem32_fixed(struct aml *r, uint32_t base, uint32_t len);
/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } */
void aml_res_ext_irq(struct aml *r, uint32_t gsi);
/* Interrupt(ResourceConsumer, Level, ActiveHigh, Exclusive) { gsi } */
void aml_res_ext_irq_level(struct aml *r, uint32_t gsi);
/* ResourceTemplate() { res }: adds the end tag and its checksum. */
void aml_resource_template(struct aml *a, const struct aml *res);

#endif
