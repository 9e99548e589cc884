/*
 * vCPUs: one thread each, running the KVM_RUN loop and dispatching port
 * I/O and MMIO exits to the buses.
 */
#ifndef VMK_VCPU_H
#define VMK_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vm.h"

enum vcpu_exit_kind {
	VCPU_EXIT_IO, VCPU_EXIT_MMIO, VCPU_EXIT_HLT, VCPU_EXIT_SHUTDOWN,
	VCPU_EXIT_SYSTEM_EVENT, VCPU_EXIT_INTR, VCPU_EXIT_INTERNAL_ERROR,
	VCPU_EXIT_OTHER, VCPU_EXIT_KINDS
};

struct vcpu_stats {
	_Atomic uint64_t exits[VCPU_EXIT_KINDS];
	_Atomic uint64_t run_ns;        /* time spent inside KVM_RUN */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	int tid;                        /* Linux thread id; set before vcpus_start returns */
	struct vcpu_stats stats;
};

extern const char *const vcpu_exit_names[VCPU_EXIT_KINDS];

/* Creates the vCPU fds and sets CPUID, MSRs, LAPIC and (on the BSP) boot registers. */
int vcpus_create(struct vm *vm);
int vcpus_start(struct vm *vm);
void vcpus_join(struct vm *vm);
void vcpus_destroy(struct vm *vm);

/* Stops every vCPU outside KVM_RUN; returns when all are parked. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

#endif
