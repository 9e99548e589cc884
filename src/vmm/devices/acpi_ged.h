/*
 * ACPI Generic Event Device (ACPI 6.x, "Generic Event Device"): how a hardware-reduced
 * platform signals events such as a power button press.  The DSDT's
 * \_SB.GED0 (HID ACPI0013) lists ACPI_GED_GSI in its _CRS; when that
 * interrupt fires the OS runs _EVT, which reads the event register,
 * acknowledges what it found and, for the power button, does
 * Notify(\_SB.PWRB, 0x80) on the PNP0C0C button device.  Linux's evged
 * and button drivers turn that into KEY_POWER.
 *
 * The event register is one byte at I/O port ACPI_GED_EVT_PORT, right
 * after the acpi_pm registers: a read returns the pending events, a
 * write of 1 to a bit clears it.  A port rather than an MMIO page: the
 * other ACPI registers are ports too, a port costs no slot in the MMIO
 * map, and one byte needs no more.  The interrupt is level-triggered,
 * active high, and stays asserted while any event is pending, so a
 * press made while the guest has the pin masked (booting, or paused)
 * is delivered when it unmasks, and an acknowledged one only once.
 */
#ifndef VMK_ACPI_GED_H
#define VMK_ACPI_GED_H

#include <stdint.h>

#define ACPI_GED_EVT_PORT 0x603
#define ACPI_GED_GSI 23                 /* the IOAPIC's last pin; virtio uses 5-21 */
#define ACPI_GED_PWR_BUTTON 0x01        /* event bit: power button pressed */
#define ACPI_GED_BUTTON_NOTIFY 0x80     /* Notify value for a button: pressed */

struct vm;

/* Claims the event port and sets vm->ged; 0, or -1 if the port is taken or memory is short. */
int acpi_ged_init(struct vm *vm);

/* Frees vm->ged once no vCPU or control client can reach it any more. */
void acpi_ged_destroy(struct vm *vm);

/* Latches events (ACPI_GED_* bits) and asserts the interrupt; any thread. */
void acpi_ged_raise(struct vm *vm, uint8_t events);

#endif
