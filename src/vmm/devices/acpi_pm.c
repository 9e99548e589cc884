/*
 * ACPI sleep and reset registers.  Stateless: a write either asks vmx to
 * stop the VM (power-off or reset) or is ignored, and every read sees 0,
 * so the handler needs no lock however many vCPUs touch it.  Only the
 * first byte of an access counts; the registers are 8 bits wide.
 */
#include "devices/acpi_pm.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bus.h"
#include "vm.h"

static void sleep_control_write(struct vm *vm, uint8_t v)
{
	unsigned int typ = (v & ACPI_PM_SLP_TYP_MASK) >> ACPI_PM_SLP_TYP_SHIFT;

	if ((v & ACPI_PM_SLP_EN) && typ == ACPI_PM_S5_SLP_TYP)
		vm_request_stop(vm, VM_STOP_POWEROFF, 0);
}

static void reset_write(struct vm *vm, uint8_t v)
{
	if (v == ACPI_PM_RESET_VALUE)
		vm_request_stop(vm, VM_STOP_RESET, 0);
}

static void acpi_pm_io(void *dev, uint64_t offset, void *data, unsigned int len,
		       bool is_write)
{
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (len == 0)
		return;
	uint8_t v = *(const uint8_t *)data;
	switch (ACPI_PM_PORT_BASE + offset) {
	case ACPI_PM_SLEEP_CTL_PORT:
		sleep_control_write(dev, v);
		break;
	case ACPI_PM_RESET_PORT:
		reset_write(dev, v);
		break;
	default:        /* sleep status: writing WAK_STS clears nothing */
		break;
	}
}

int acpi_pm_init(struct vm *vm)
{
	return bus_add(&vm->pio, ACPI_PM_PORT_BASE, ACPI_PM_NR_PORTS, acpi_pm_io, vm);
}
