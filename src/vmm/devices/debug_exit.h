/*
 * QEMU-compatible isa-debug-exit: a guest write of v to port 0xf4 ends
 * the VM with exit status (v << 1) | 1.  For test guests; vmx registers
 * it only with --debug-exit.
 */
#ifndef VMK_DEBUG_EXIT_H
#define VMK_DEBUG_EXIT_H

#define DEBUG_EXIT_PORT 0xf4

struct vm;

/* Claims ports 0xf4-0xf7 on vm->pio; 0 or -1 if taken. */
int debug_exit_init(struct vm *vm);

#endif
