/*
 * ACPI Generic Event Device: the event register and its interrupt line
 * (see acpi_ged.h for the guest's view).
 *
 * The control socket raises events from the I/O thread while vCPUs read
 * and acknowledge them; one mutex covers the pending bits and the line
 * level together, so an acknowledgement racing a new event can never
 * leave the line low with an event pending.  Only the first byte of an
 * access counts, like acpi_pm's registers.
 */
#include "devices/acpi_ged.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "vm.h"

struct acpi_ged {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t pending;                /* ACPI_GED_* bits not yet acknowledged */
	bool line;                      /* level last set on ACPI_GED_GSI */
};

/* Called with the lock held: the line follows "any event pending". */
static void update_line(struct acpi_ged *g)
{
	bool level = g->pending != 0;

	if (level == g->line)
		return;
	g->line = level;
	vm_set_irq(g->vm, ACPI_GED_GSI, level);
}

static void acpi_ged_io(void *dev, uint64_t offset, void *data, unsigned int len,
			bool is_write)
{
	struct acpi_ged *g = dev;

	(void)offset;
	if (len == 0)
		return;
	pthread_mutex_lock(&g->lock);
	if (is_write) {
		g->pending &= (uint8_t)~*(const uint8_t *)data;    /* write 1 to clear */
		update_line(g);
	} else {
		memset(data, 0, len);
		*(uint8_t *)data = g->pending;
	}
	pthread_mutex_unlock(&g->lock);
}

void acpi_ged_raise(struct vm *vm, uint8_t events)
{
	struct acpi_ged *g = vm->ged;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->pending |= events;
	update_line(g);
	pthread_mutex_unlock(&g->lock);
}

int acpi_ged_init(struct vm *vm)
{
	struct acpi_ged *g = calloc(1, sizeof(*g));

	if (!g)
		return -1;
	g->vm = vm;
	pthread_mutex_init(&g->lock, NULL);
	if (bus_add(&vm->pio, ACPI_GED_EVT_PORT, 1, acpi_ged_io, g) < 0) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return -1;
	}
	vm->ged = g;
	return 0;
}

void acpi_ged_destroy(struct vm *vm)
{
	struct acpi_ged *g = vm->ged;

	if (!g)
		return;
	vm->ged = NULL;
	pthread_mutex_destroy(&g->lock);
	free(g);
}
