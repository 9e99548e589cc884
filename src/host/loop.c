/*
 * The event loop.  A watch is kept per fd in a table indexed by the fd
 * (fds are small and dense), and the epoll event carries the fd, so a
 * watch removed by an earlier callback of the same batch is noticed and
 * its stale event skipped.
 */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct watch {
	loop_fn fn;
	void *arg;
	uint32_t events;
};

static int epfd = -1;
static struct watch *watches;
static int nr_watches;
static bool stopping;

int loop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? -errno : 0;
}

static int grow(int fd)
{
	if (fd < nr_watches)
		return 0;
	int n = fd + 64;
	struct watch *w = realloc(watches, (size_t)n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w + nr_watches, 0, (size_t)(n - nr_watches) * sizeof(*w));
	watches = w;
	nr_watches = n;
	return 0;
}

int loop_add(int fd, uint32_t events, loop_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0 || grow(fd))
		return -ENOMEM;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	watches[fd] = (struct watch){ fn, arg, events };
	return 0;
}

int loop_mod(int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0 || fd >= nr_watches || !watches[fd].fn)
		return -ENOENT;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	watches[fd].events = events;
	return 0;
}

void loop_del(int fd)
{
	if (fd < 0 || fd >= nr_watches || !watches[fd].fn)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	watches[fd] = (struct watch){ 0 };
}

void loop_run(void)
{
	struct epoll_event evs[32];

	stopping = false;
	while (!stopping) {
		int n = epoll_wait(epfd, evs, 32, -1);
		for (int i = 0; i < n && !stopping; i++) {
			int fd = evs[i].data.fd;
			if (fd < nr_watches && watches[fd].fn)
				watches[fd].fn(watches[fd].arg, evs[i].events);
		}
	}
}

void loop_stop(void)
{
	stopping = true;
}
