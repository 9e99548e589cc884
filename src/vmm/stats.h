/*
 * Named counters a device exposes to the control socket's "stats" method.
 */
#ifndef VMK_STATS_H
#define VMK_STATS_H

#include <stdint.h>

#define STATS_MAX_COUNTERS 32

struct stat_counter {
	const char *name;
	uint64_t value;
};

#endif
