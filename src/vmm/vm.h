/*
 * The virtual machine: one per vmx process.  Holds the KVM VM, guest RAM,
 * the I/O buses and the vCPUs, and is what devices are handed.
 *
 * Guest-physical layout (x86):
 *   0x000500  GDT            0x006000 hvm_start_info (PVH)
 *   0x007000  boot_params or PVH memory map
 *   0x009000  page tables (PML4, PDPT, 4 PDs: identity map of 4 GiB)
 *   0x020000  kernel command line (VM_CMDLINE_MAX bytes)
 *   0x09fc00  reserved to 1 MiB: MP table, ACPI tables at 0xe0000
 *   0x100000  kernel
 *   RAM up to VM_MMIO_GAP_START, the rest from 4 GiB
 *   0xd0000000 virtio-mmio devices, one 4 KiB slot each
 *   0xfec00000 IOAPIC, 0xfee00000 local APICs
 */
#ifndef VMK_VM_H
#define VMK_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "gmem.h"

#define VM_GDT_ADDR 0x500
#define VM_PVH_INFO_ADDR 0x6000
#define VM_PVH_MODLIST_ADDR 0x6040
#define VM_ZERO_PAGE_ADDR 0x7000
#define VM_PVH_MEMMAP_ADDR 0x7000
#define VM_BOOT_STACK 0x8ff0
#define VM_PML4_ADDR 0x9000
#define VM_CMDLINE_ADDR 0x20000
#define VM_CMDLINE_MAX 0x10000
#define VM_EBDA_START 0x9fc00
#define VM_MPTABLE_ADDR 0x9fc00
#define VM_ACPI_ADDR 0xe0000
#define VM_HIGH_START 0x100000
#define VM_MMIO_GAP_START 0xc0000000ULL
#define VM_MMIO_GAP_END 0x100000000ULL
#define VM_VIRTIO_MMIO_BASE 0xd0000000ULL
#define VM_VIRTIO_MMIO_SIZE 0x1000
#define VM_IOAPIC_ADDR 0xfec00000ULL
#define VM_LAPIC_ADDR 0xfee00000ULL
#define VM_TSS_ADDR 0xfffbd000ULL
#define VM_MAX_VIRTIO 16

/* Why the VM stopped, which decides vmx's exit status. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,       /* guest powered off or reset-as-shutdown: 0 */
	VM_STOP_DEBUG_EXIT,     /* debug-exit port: (value << 1) | 1 */
	VM_STOP_REQUEST,        /* control socket "stop" or a signal: 0 */
	VM_STOP_ERROR,          /* vCPU failure: 1 */
	VM_STOP_RESET,          /* guest reset with on_reset = restart */
};

struct vcpu;
struct acpi_ged;

/* A virtio-mmio device slot as it is declared to the guest. */
struct virtio_slot {
	uint64_t base;
	unsigned int irq;
	uint32_t device_id;
};

struct vm {
	const struct vmx_config *cfg;
	int kvm_fd, vm_fd;
	int vcpu_mmap_size;

	int mem_fd;                     /* memfd backing all guest RAM */
	uint8_t *ram;                   /* host mapping of the memfd */
	uint64_t ram_size;
	struct gmem mem;

	struct bus pio, mmio;

	struct vcpu *vcpu;
	unsigned int nr_vcpus;

	struct acpi_ged *ged;           /* power button events (devices/acpi_ged.c) */

	/* virtio-mmio devices, for the command line and ACPI tables */
	struct virtio_slot virtio[VM_MAX_VIRTIO];
	unsigned int nr_virtio;

	/* boot results, used to set up vCPU registers */
	uint64_t entry;
	bool entry_pvh;                 /* 32-bit PVH entry, else 64-bit Linux */

	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	_Atomic int stop_reason;        /* enum vm_stop_reason */
	int exit_status;
	atomic_bool paused;             /* written under state_lock */
	unsigned int nr_paused;         /* vCPUs parked while paused */
};

/* Asserts (level 1) or deasserts (0) an interrupt line of the irqchip. */
void vm_set_irq(struct vm *vm, unsigned int gsi, int level);
/* Raises then lowers the line: an edge for edge-triggered devices. */
void vm_pulse_irq(struct vm *vm, unsigned int gsi);
/* An eventfd that raises gsi when written (KVM_IRQFD); -1 on failure. */
int vm_irqfd(struct vm *vm, unsigned int gsi);

/*
 * An eventfd that KVM signals, without an exit to vmx, when the guest
 * writes the 32-bit value datamatch to the MMIO address addr
 * (KVM_IOEVENTFD); -1 with errno when KVM cannot do that.
 */
int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t datamatch);

/* Ends the VM (first caller wins) and kicks every vCPU out of KVM_RUN. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int status);

/* Claims the next virtio-mmio slot for device_id; NULL when full. */
const struct virtio_slot *vm_alloc_virtio_slot(struct vm *vm, uint32_t device_id);

#endif
