#ifndef VMK_X86_CPUID_H
#define VMK_X86_CPUID_H

#include "vm.h"

/* Sets vCPU `id`'s CPUID: what KVM supports, filtered, with a consistent topology. */
int cpuid_setup(struct vm *vm, int vcpu_fd, unsigned int id);

#endif
