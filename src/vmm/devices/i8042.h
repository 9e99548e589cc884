/*
 * A minimal i8042 keyboard controller with no keyboard or mouse behind
 * it: enough for a guest to probe it and to reset the machine through it
 * (0x64 command 0xFE, as Linux's reboot=k does), plus System Control
 * Port A (0x92) whose bit 0 is the fast reset.
 */
#ifndef VMK_I8042_H
#define VMK_I8042_H

struct vm;

/* Claims ports 0x60, 0x64 and 0x92 on vm->pio; 0 or -1 if taken.  A reset
 * becomes vm_request_stop(vm, VM_STOP_RESET, 0). */
int i8042_init(struct vm *vm);

#endif
