#ifndef VMK_X86_REGS_H
#define VMK_X86_REGS_H

#include "vm.h"

/* MSRs, FPU and local APIC LINT pins: every vCPU. */
int regs_setup_common(int vcpu_fd);
/* Boot processor state for vm->entry: 64-bit Linux boot protocol or 32-bit PVH. */
int regs_setup_boot(struct vm *vm, int vcpu_fd);

#endif
