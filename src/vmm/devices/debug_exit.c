/*
 * isa-debug-exit as QEMU defines it: a write of any width to the 4-byte
 * window at 0xf4 takes the bytes written as a little-endian value v and
 * stops the VM with status (v << 1) | 1, so an exit code can never be 0
 * and tell "test passed" apart from a plain power-off.  Reads see 0.
 */
#include "debug_exit.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bus.h"
#include "vm.h"

static void debug_exit_io(void *dev, uint64_t offset, void *data, unsigned int len,
			  bool is_write)
{
	(void)offset;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	const uint8_t *p = data;
	uint32_t v = 0;
	for (unsigned int i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	vm_request_stop(dev, VM_STOP_DEBUG_EXIT, (int)((v << 1) | 1));
}

int debug_exit_init(struct vm *vm)
{
	return bus_add(&vm->pio, DEBUG_EXIT_PORT, 4, debug_exit_io, vm);
}
