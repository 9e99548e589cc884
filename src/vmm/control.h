/*
 * vmx's control socket: newline-delimited JSON requests on a Unix stream
 * socket, served on the I/O thread.
 *
 *   {"id": 1, "method": "query"}            -> {"id": 1, "result": {...}}
 *   methods: query, stats, pause, resume, stop, reset, shutdown
 *   errors:  {"id": 1, "error": {"code": -32601, "message": "..."}}
 */
#ifndef VMK_CONTROL_H
#define VMK_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "stats.h"
#include "vm.h"


/* A device's counters, for the "stats" method: fills out[], returns how many. */
typedef unsigned int (*stats_fn)(void *dev, struct stat_counter *out, unsigned int max);

/* Registers a device's counters under a name like "virtio-blk0". */
void control_register_stats(const char *name, stats_fn fn, void *dev);

/* A network adapter as `query` lists it (nics[]). */
struct nic_info {
	const char *backend;            /* "tap" or "vhost-user" */
	const char *path;               /* TAP name or socket path */
	uint8_t mac[6];
	bool connected;
};
/* Fills *out with the adapter's state now (called on the I/O thread). */
typedef void (*nic_info_fn)(void *dev, struct nic_info *out);

/* Registers adapter number index (the order of --net) for `query`. */
void control_register_nic(unsigned int index, nic_info_fn fn, void *dev);

int control_init(struct vm *vm, const char *path);
void control_close(void);

#endif
