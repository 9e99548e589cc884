/*
 * ACPI power management for a hardware-reduced ACPI guest: the three
 * one-byte I/O registers the FADT points at (ACPI 6.x, 4.8.3.7 and
 * 4.8.3.6).  A write of SLP_EN with the S5 sleep type to the sleep
 * control register powers the VM off; a write of the reset value to the
 * reset register resets it.  There is no other state: sleep states other
 * than S5 are not offered (the DSDT has only \_S5).
 */
#ifndef VMK_ACPI_PM_H
#define VMK_ACPI_PM_H

#define ACPI_PM_PORT_BASE 0x600
#define ACPI_PM_SLEEP_CTL_PORT 0x600    /* FADT SLEEP_CONTROL_REG */
#define ACPI_PM_SLEEP_STS_PORT 0x601    /* FADT SLEEP_STATUS_REG */
#define ACPI_PM_RESET_PORT 0x602        /* FADT RESET_REG */
#define ACPI_PM_NR_PORTS 3

#define ACPI_PM_RESET_VALUE 0x01        /* FADT RESET_VALUE */

/* Sleep control register fields, and the S5 type the DSDT's \_S5 names. */
#define ACPI_PM_SLP_TYP_SHIFT 2
#define ACPI_PM_SLP_TYP_MASK 0x1c
#define ACPI_PM_SLP_EN 0x20
#define ACPI_PM_S5_SLP_TYP 5
/* Sleep status register: wake status, never set (we do not sleep). */
#define ACPI_PM_WAK_STS 0x80

struct vm;

/* Claims ports 0x600-0x602 on vm->pio; 0, or -1 if they are taken. */
int acpi_pm_init(struct vm *vm);

#endif
