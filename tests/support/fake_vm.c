/* The fake VM shared by the virtio tests and fuzz targets: see fake_vm.h. */
#include "fake_vm.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gmem.h"

struct fake_vm fvm;

int fake_vm_init(uint64_t ram_size)
{
	memset(&fvm, 0, sizeof(fvm));
	fvm.irqfd_max = VM_MAX_VIRTIO;
	for (unsigned int i = 0; i < VM_MAX_VIRTIO; i++)
		fvm.irqfds[i] = -1;
	fvm.ram = calloc(1, ram_size);
	if (!fvm.ram)
		return -1;
	if (gmem_add_region(&fvm.vm.mem, 0, ram_size, fvm.ram) < 0) {
		free(fvm.ram);
		fvm.ram = NULL;
		return -1;
	}
	fvm.ram_size = ram_size;
	fvm.vm.ram = fvm.ram;
	fvm.vm.ram_size = ram_size;
	fvm.vm.mmio.name = "mmio";
	return 0;
}

void fake_vm_free(void)
{
	free(fvm.ram);
	fvm.ram = NULL;
	fvm.vm.ram = NULL;
}

uint64_t fake_vm_irqfd_count(unsigned int i)
{
	uint64_t v = 0;

	if (i >= VM_MAX_VIRTIO || fvm.irqfds[i] < 0 ||
	    read(fvm.irqfds[i], &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

bool fake_vm_in_ram(const void *p, size_t len)
{
	const uint8_t *b = p;

	return len > 0 && b >= fvm.ram && (uint64_t)(b - fvm.ram) <= fvm.ram_size &&
	       len <= fvm.ram_size - (uint64_t)(b - fvm.ram);
}

/* ---- what the devices call ---- */

const struct virtio_slot *vm_alloc_virtio_slot(struct vm *v, uint32_t id)
{
	if (v->nr_virtio >= VM_MAX_VIRTIO)
		return NULL;
	struct virtio_slot *s = &v->virtio[v->nr_virtio];
	s->base = VM_VIRTIO_MMIO_BASE + v->nr_virtio * VM_VIRTIO_MMIO_SIZE;
	s->irq = 5 + v->nr_virtio;
	s->device_id = id;
	v->nr_virtio++;
	return s;
}

int vm_irqfd(struct vm *v, unsigned int gsi)
{
	(void)v;
	(void)gsi;
	unsigned int i = fvm.nr_irqfd_calls++;
	if (i >= fvm.irqfd_max || i >= VM_MAX_VIRTIO)
		return -1;
	fvm.irqfds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return fvm.irqfds[i];
}

void vm_pulse_irq(struct vm *v, unsigned int gsi)
{
	(void)v;
	(void)gsi;
	fvm.pulses++;
}

void vm_set_irq(struct vm *v, unsigned int gsi, int level)
{
	(void)v;
	(void)gsi;
	fvm.set_irqs++;
	fvm.last_level = level;
}

void vm_request_stop(struct vm *v, enum vm_stop_reason why, int status)
{
	(void)v;
	fvm.stops++;
	fvm.stop_reason = why;
	fvm.stop_status = status;
}
