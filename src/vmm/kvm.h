/*
 * KVM VM setup: /dev/kvm, the VM with its in-kernel irqchip and PIT, and
 * guest RAM.
 */
#ifndef VMK_KVM_H
#define VMK_KVM_H

#include "vm.h"

/* Opens KVM and creates the VM with RAM; one-line error and -1 on failure. */
int kvm_vm_create(struct vm *vm, const struct vmx_config *cfg);
void kvm_vm_destroy(struct vm *vm);

#endif
