/*
 * The test-guest library: everything a freestanding PVH test guest needs,
 * in one header.  There is no libc; the pieces are
 *
 *   start.c    entry from the boot stub, start_info checks, the result
 *              protocol (pass/fail lines on serial, exit code to 0xf4)
 *   serial.c   8250 output by polling the line status register
 *   printf.c   a minimal printf (%d %u %x %s %c %p, l/ll/z, width, 0)
 *   string.c   memcpy, memset and friends the compiler may call
 *   cmdline.c  "key=value" lookup on the kernel command line
 *   idt.c      IDT and C interrupt handlers
 *   time.c     TSC calibrated against the PIT, deadlines, delays
 *   apic.c     local APIC (xAPIC MMIO) and IOAPIC
 *   acpi.c     CPUs, IOAPICs and ISA overrides from the MADT or MP table
 *   virtio.c   virtio-mmio (version 2) transport and split virtqueues
 *   crc32.c    CRC-32 (the zlib one) for checksums a test can recompute
 *
 * Each guest defines guest_name[] and guest_main(); guest_main returns
 * after printing nothing else (the library prints "PASS <name>") or ends
 * the run itself through fail().
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- PVH start info (Xen public/arch-x86/hvm/start_info.h layout) ---- */
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;          /* version >= 1 */
	uint32_t memmap_entries;        /* version >= 1 */
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;                  /* 1 = RAM, as E820 */
	uint32_t reserved;
};

/* ---- what each guest provides ---- */
extern const char guest_name[];
int guest_main(const struct hvm_start_info *si);

/* ---- exit codes shared by all guests (guests use 1..39 for their own) ---- */
#define EXIT_PASS         0
#define EXIT_EXCEPTION    60    /* unexpected CPU exception */
#define EXIT_BAD_START    61    /* start_info missing or wrong magic */
#define EXIT_NO_VERDICT   62    /* guest_main returned non-zero without fail() */

extern const struct hvm_start_info *start_info;

_Noreturn void guest_exit(uint32_t code);
_Noreturn void pass(void);
_Noreturn void fail(uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Memory map helpers (start_info v1); false if no memmap was given. */
bool memmap_available(void);
/* True if [addr, addr+len) lies inside one RAM (type 1) entry. */
bool memmap_is_ram(uint64_t addr, uint64_t len);

/* End of the loaded image including stacks (linker symbol). */
extern char __image_start[], __image_end[];

/* Storage the boot stub does not clear (big buffers, queue memory). */
#ifdef __clang__
#define NOINIT __attribute__((section(".noinit")))
#else
#define NOINIT __attribute__((noinit))
#endif

/* ---- port and memory-mapped I/O, CPU helpers ---- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)a; }

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }
static inline void irq_enable(void) { __asm__ __volatile__("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ __volatile__("cli" ::: "memory"); }
static inline void barrier(void) { __asm__ __volatile__("" ::: "memory"); }
static inline void mb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* ---- strings and memory ---- */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* ---- serial console (8250 at 0x3f8) ---- */
#define COM1 0x3f8
void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);

/* ---- printf ---- */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- command line ---- */
const char *cmdline(void);
/* n-th (from 0) "key=value" token; val and len describe the value. */
bool cmdline_find(const char *key, unsigned nth, const char **val, size_t *len);
/* Number with optional 0x prefix and K/M/G suffix; def if absent or bad. */
uint64_t cmdline_u64(const char *key, uint64_t def);
/* Parses a number at s (max len chars); returns chars used, 0 if none. */
size_t parse_u64(const char *s, size_t len, uint64_t *out);
/* Same, then an optional K/M/G suffix (binary multiples). */
size_t parse_size(const char *s, size_t len, uint64_t *out);
bool parse_ipv4(const char *s, size_t len, uint8_t ip[4]);

/* ---- interrupts ---- */
struct int_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*isr_fn)(struct int_frame *f);
void idt_init(void);
void idt_load(void);            /* lidt on the calling CPU */
void idt_set_handler(uint8_t vector, isr_fn fn);

/* ---- time ---- */
extern uint64_t tsc_hz;
void time_init(void);           /* calibrates the TSC once */
uint64_t deadline_ms(uint64_t ms);
bool expired(uint64_t deadline);
void udelay(uint64_t us);
void mdelay(uint64_t ms);
uint64_t tsc_to_us(uint64_t ticks);

/* ---- local APIC and IOAPIC ---- */
#define LAPIC_ID       0x020
#define LAPIC_VER      0x030
#define LAPIC_TPR      0x080
#define LAPIC_EOI      0x0b0
#define LAPIC_SVR      0x0f0
#define LAPIC_ESR      0x280
#define LAPIC_ICR_LO   0x300
#define LAPIC_ICR_HI   0x310
#define LAPIC_LVT_TMR  0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERR  0x370
#define LAPIC_TMR_INIT 0x380
#define LAPIC_TMR_CUR  0x390
#define LAPIC_TMR_DIV  0x3e0

extern uintptr_t lapic_base;
void lapic_init(void);          /* global + software enable, spurious 0xff */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Writes the ICR for destination apic id; false if delivery stays pending. */
bool lapic_send_ipi(uint32_t dest, uint32_t icr_lo);

uint32_t ioapic_read(uintptr_t base, uint32_t reg);
void ioapic_write(uintptr_t base, uint32_t reg, uint32_t v);
unsigned ioapic_pins(uintptr_t base);
/* flags: MADT MPS INTI flags (polarity bits 0-1, trigger bits 2-3). */
void ioapic_route(uintptr_t base, unsigned pin, uint8_t vector, uint16_t flags, uint32_t dest);
void ioapic_mask(uintptr_t base, unsigned pin);
void pic_mask_all(void);

/* ---- platform description from ACPI (MADT) or the MP table ---- */
#define PLAT_MAX_CPUS 64
#define PLAT_MAX_IOAPICS 8
#define PLAT_MAX_ISOS 16

struct platform {
	const char *source;             /* "acpi" or "mp" */
	uint32_t lapic_addr;
	unsigned ncpus;
	uint32_t apic_id[PLAT_MAX_CPUS];
	unsigned nioapics;
	struct { uint8_t id; uint32_t addr; uint32_t gsi_base; } ioapic[PLAT_MAX_IOAPICS];
	unsigned nisos;
	struct { uint8_t irq; uint32_t gsi; uint16_t flags; } iso[PLAT_MAX_ISOS];
};
/* Fills *p; false if neither an ACPI MADT nor an MP table was found. */
bool platform_probe(struct platform *p);
/* ISA IRQ -> GSI and INTI flags, applying interrupt source overrides. */
void platform_isa_irq(const struct platform *p, unsigned irq, uint32_t *gsi, uint16_t *flags);
/* IOAPIC serving gsi; sets *pin; 0 if none. */
uintptr_t platform_ioapic_for(const struct platform *p, uint32_t gsi, unsigned *pin);

/* ---- virtio-mmio ---- */
#define VIRTIO_MMIO_MAGIC 0x74726976u
#define VIRTIO_F_VERSION_1 (1ull << 32)

#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct virtq_used_elem { uint32_t id; uint32_t len; };

#define VQ_MAX 64
struct virtq {
	unsigned index;                 /* queue number on the device */
	unsigned num;                   /* ring size */
	volatile struct virtq_desc *desc;
	volatile uint16_t *avail;       /* flags, idx, ring[num], used_event */
	volatile uint16_t *used;        /* flags, idx, then elems */
	uint16_t avail_idx;             /* next avail->idx to publish */
	uint16_t last_used;             /* used->idx consumed so far */
	/* ring memory: desc table at 0, avail ring at 1024, used at 2048 */
	uint8_t mem[4096] __attribute__((aligned(4096)));
};

struct virtio_dev {
	uintptr_t base;
	uint32_t irq;
	uint32_t device_id;
	uint64_t features;              /* offered by the device */
	uint64_t negotiated;
};

#define VIRTIO_MAX_DEVS 16
/*
 * Finds virtio-mmio devices: from virtio_mmio.device=<size>@<base>:<irq>
 * tokens on the command line, else (QEMU microvm) by probing 0xfeb00000 +
 * n * 0x200.  Fills devs[] with every transport showing the magic value
 * and a non-zero device id; returns how many.
 */
unsigned virtio_find(struct virtio_dev *devs, unsigned max, bool *from_cmdline);
uint32_t virtio_version(const struct virtio_dev *d);
/* Reset, ACKNOWLEDGE|DRIVER, negotiate (wanted & offered), FEATURES_OK.
 * Returns 0 or a negative step number on failure. */
int virtio_init(struct virtio_dev *d, uint64_t wanted);
int virtq_setup(struct virtio_dev *d, struct virtq *q, unsigned index, unsigned num);
void virtio_driver_ok(struct virtio_dev *d);
void virtio_fail(struct virtio_dev *d);
uint8_t virtio_cfg8(const struct virtio_dev *d, unsigned off);
uint32_t virtio_cfg32(const struct virtio_dev *d, unsigned off);
uint64_t virtio_cfg64(const struct virtio_dev *d, unsigned off);
/* Makes descriptor chain starting at head available and notifies. */
void virtq_publish(struct virtio_dev *d, struct virtq *q, uint16_t head, bool notify);
void virtq_notify(struct virtio_dev *d, struct virtq *q);
/* Takes one used element if there is one. */
bool virtq_take_used(struct virtq *q, uint32_t *id, uint32_t *len);

/* ---- checksums ---- */
uint32_t crc32(uint32_t crc, const void *buf, size_t len);

#endif
