/*
 * KVM VM setup.
 *
 * Guest RAM is one memfd, mapped shared: later the vSwitch (vhost-user)
 * and snapshots reach the same pages through the fd.  RAM that does not
 * fit below the 32-bit MMIO gap continues at 4 GiB, so the memfd has two
 * KVM memory slots.  The interrupt controllers (PIC, IOAPIC, local APICs)
 * and the PIT live in the kernel, which keeps timer and IPI traffic off
 * vmx entirely.
 */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

static int check_caps(int kvm_fd)
{
	static const struct { int cap; const char *name; } needed[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			log_error("KVM lacks %s", needed[i].name);
			return -1;
		}
	}
	return 0;
}

static int set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ||
	    gmem_add_region(&vm->mem, gpa, size, hva) < 0) {
		log_error("cannot map guest RAM slot %u: %s", slot, strerror(errno));
		return -1;
	}
	return 0;
}

static int create_ram(struct vm *vm, uint64_t size)
{
	vm->ram_size = size;
	/* Sealed at its size: a vhost-user back end maps this file, and a
	 * file that could shrink under its mapping could make it fault. */
	vm->mem_fd = memfd_create("vmx-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->mem_fd < 0 || ftruncate(vm->mem_fd, (off_t)size) < 0 ||
	    fcntl(vm->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		log_error("cannot create %llu MiB of guest RAM: %s",
			  (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	vm->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       vm->mem_fd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		log_error("cannot map %llu MiB of guest RAM: %s",
			  (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	/* The guest's memory is the guest's: a vmx core dump (a sandbox stop,
	 * a crash) must not copy it into the host's crash store. */
	madvise(vm->ram, size, MADV_DONTDUMP);
	uint64_t low = size < VM_MMIO_GAP_START ? size : VM_MMIO_GAP_START;
	if (set_slot(vm, 0, 0, low, vm->ram) < 0)
		return -1;
	if (size > low && set_slot(vm, 1, VM_MMIO_GAP_END, size - low, vm->ram + low) < 0)
		return -1;
	return 0;
}

static int create_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity_map = VM_TSS_ADDR - 0x1000;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_error("cannot create the in-kernel irqchip: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_vm_create(struct vm *vm, const struct vmx_config *cfg)
{
	vm->cfg = cfg;
	vm->vm_fd = vm->mem_fd = -1;
	vm->pio.name = "pio";
	vm->mmio.name = "mmio";
	pthread_mutex_init(&vm->state_lock, NULL);
	pthread_cond_init(&vm->state_cond, NULL);

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		log_error("cannot open /dev/kvm: %s", strerror(errno));
		return -1;
	}
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_error("unsupported KVM API version %d", version);
		return -1;
	}
	if (check_caps(vm->kvm_fd) < 0)
		return -1;
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0 || vm->vcpu_mmap_size <= 0) {
		log_error("cannot create a KVM VM: %s", strerror(errno));
		return -1;
	}
	/*
	 * RAM first: registering memory slots after the in-kernel irqchip
	 * exists costs milliseconds (measured: 0.15 ms before, 8-11 ms after).
	 */
	if (create_ram(vm, cfg->memory) < 0)
		return -1;
	return create_irqchip(vm);
}

void kvm_vm_destroy(struct vm *vm)
{
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}

void vm_set_irq(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
}

void vm_pulse_irq(struct vm *vm, unsigned int gsi)
{
	vm_set_irq(vm, gsi, 1);
	vm_set_irq(vm, gsi, 0);
}

int vm_irqfd(struct vm *vm, unsigned int gsi)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -1;
	struct kvm_irqfd req = { .fd = (uint32_t)fd, .gsi = gsi };
	if (ioctl(vm->vm_fd, KVM_IRQFD, &req) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t datamatch)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0) {
		errno = ENOSYS;
		return -1;
	}
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -1;
	struct kvm_ioeventfd req = {
		.datamatch = datamatch, .addr = addr, .len = 4, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &req) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* GSIs for virtio-mmio slots: ISA lines nothing else uses, then IOAPIC-only pins. */
static const unsigned int virtio_irqs[VM_MAX_VIRTIO] = {
	5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
};

const struct virtio_slot *vm_alloc_virtio_slot(struct vm *vm, uint32_t device_id)
{
	if (vm->nr_virtio >= VM_MAX_VIRTIO)
		return NULL;
	struct virtio_slot *s = &vm->virtio[vm->nr_virtio];
	s->base = VM_VIRTIO_MMIO_BASE + (uint64_t)vm->nr_virtio * VM_VIRTIO_MMIO_SIZE;
	s->irq = virtio_irqs[vm->nr_virtio];
	s->device_id = device_id;
	vm->nr_virtio++;
	return s;
}
