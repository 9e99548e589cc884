/* The recording event loop (fake_evloop.h). */
#include "fake_evloop.h"

#include <poll.h>
#include <stddef.h>

#include "evloop.h"

#define MAX_WATCHES 64

static struct watch {
	int fd;
	uint32_t events;
	evloop_fn fn;
	void *opaque;
} watches[MAX_WATCHES];
static int nwatches;

static struct watch *find(int fd)
{
	for (int i = 0; i < nwatches; i++)
		if (watches[i].fd == fd)
			return &watches[i];
	return NULL;
}

int evloop_add(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	struct watch *w = find(fd);

	if (!w) {
		if (nwatches == MAX_WATCHES)
			return -1;
		w = &watches[nwatches++];
	}
	*w = (struct watch){ fd, events, fn, opaque };
	return 0;
}

int evloop_mod(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	return evloop_add(fd, events, fn, opaque);
}

void evloop_del(int fd)
{
	struct watch *w = find(fd);

	if (w)
		*w = watches[--nwatches];
}

int fake_evloop_run_ready(void)
{
	int ran = 0;

	for (int i = 0; i < nwatches; i++) {
		struct pollfd p = { .fd = watches[i].fd, .events = POLLIN | POLLOUT };
		if (poll(&p, 1, 0) != 1 || !(p.revents & (short)watches[i].events))
			continue;
		watches[i].fn(watches[i].opaque, (uint32_t)p.revents);
		ran++;
	}
	return ran;
}

void fake_evloop_reset(void)
{
	nwatches = 0;
}
