/*
 * A fake VM for the virtio unit tests and fuzz targets: guest RAM is one
 * heap allocation of exactly the requested size (so ASan sees accesses
 * past it) registered at guest-physical 0 in the vm's gmem, and the
 * vm_* functions the virtio-mmio transport calls (slot allocation, irqfd,
 * irq pulse/level, stop request) are stubs that record what they were
 * asked in `fvm`, where the tests read them and set their behaviour.
 */
#ifndef VMK_TESTS_FAKE_VM_H
#define VMK_TESTS_FAKE_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

struct fake_vm {
	struct vm vm;
	uint8_t *ram;                   /* == vm.ram, ram_size bytes */
	uint64_t ram_size;

	/* vm_irqfd: calls number 0 .. irqfd_max - 1 get an eventfd (kept in
	 * irqfds[]; the device closes it), later ones -1 (the pulse path) */
	unsigned int irqfd_max;
	unsigned int nr_irqfd_calls;
	int irqfds[VM_MAX_VIRTIO];

	unsigned long pulses;           /* vm_pulse_irq calls */
	unsigned long set_irqs;         /* vm_set_irq calls ... */
	int last_level;                 /* ... and the last level asked */
	unsigned long stops;            /* vm_request_stop calls ... */
	enum vm_stop_reason stop_reason; /* ... and the last one's arguments */
	int stop_status;
};

extern struct fake_vm fvm;

/* Resets fvm (every device gets an irqfd) and gives it ram_size bytes of
 * zeroed guest RAM at gpa 0.  0, or -1 when out of memory. */
int fake_vm_init(uint64_t ram_size);

/* Frees the guest RAM (the devices must be gone). */
void fake_vm_free(void);

/* Interrupts signalled on the i-th irqfd since the last call (0 when there
 * is none); reading clears the count. */
uint64_t fake_vm_irqfd_count(unsigned int i);

/* Whether the len bytes at p, len > 0, lie wholly inside guest RAM: the
 * check on every buffer a device hands the kernel (whose copies ASan
 * does not see). */
bool fake_vm_in_ram(const void *p, size_t len);

#endif
