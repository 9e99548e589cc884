/*
 * Interrupt descriptor table and C-level dispatch.
 *
 * entry.S has one 16-byte stub per vector (isr_stubs + 16 * vector) that
 * pushes the vector (and a zero where the CPU pushes no error code) and
 * calls isr_dispatch() with the saved registers.  Only the 32 exception
 * vectors and the LAPIC spurious vector 0xff get gates at start; a guest
 * adds a gate with idt_set_handler().  An interrupt on a vector without a
 * gate therefore shows up as #GP with bit 1 (IDT) set in the error code,
 * which names the vector in bits 3 and up (QEMU's TCG puts it in bits 4
 * and up).  Any CPU exception ends the run with EXIT_EXCEPTION.
 */
#include "guest.h"

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static isr_fn handlers[256];
extern char isr_stubs[];

static void set_gate(unsigned vec)
{
	uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + 16 * vec);
	idt[vec] = (struct idt_gate){
		.off_lo = (uint16_t)a, .sel = 0x18, .ist = 0, .type = 0x8e,
		.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32), .zero = 0,
	};
}

void idt_load(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = {
		sizeof(idt) - 1, (uint64_t)(uintptr_t)idt,
	};
	__asm__ __volatile__("lidt %0" : : "m"(d));
}

void idt_init(void)
{
	for (unsigned v = 0; v < 32; v++)
		set_gate(v);
	set_gate(0xff);
	idt_load();
}

void idt_set_handler(uint8_t vector, isr_fn fn)
{
	handlers[vector] = fn;
	set_gate(vector);
}

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
	"#TS", "#NP", "#SS", "#GP", "#PF", "res", "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP",
};

void isr_dispatch(struct int_frame *f);

void isr_dispatch(struct int_frame *f)
{
	unsigned v = (unsigned)f->vector;
	if (handlers[v]) {
		handlers[v](f);
		return;
	}
	if (v == 0xff)          /* LAPIC spurious: no EOI */
		return;
	if (v < 32) {
		uint64_t cr2;
		__asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
		if ((v == 11 || v == 13) && (f->error & 2))
			fail(EXIT_EXCEPTION, "interrupt through an empty IDT gate, error code %#lx "
			     "(vector %lu) rip=%#lx", (unsigned long)f->error,
			     (unsigned long)(f->error >> 3), (unsigned long)f->rip);
		fail(EXIT_EXCEPTION, "exception %u %s err=%#lx rip=%#lx cr2=%#lx rsp=%#lx", v,
		     exc_names[v] ? exc_names[v] : "?", (unsigned long)f->error,
		     (unsigned long)f->rip, (unsigned long)cr2, (unsigned long)f->rsp);
	}
	printf("unexpected interrupt vector %u\n", v);
	lapic_eoi();
}
