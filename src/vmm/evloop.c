/*
 * Event loop.  Each watched fd owns a small heap record that epoll hands
 * back; a stop request is an eventfd in the same set, so that stopping
 * needs nothing but a write(2) and works from signal handlers.
 */
#include "evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVLOOP_MAX_FDS 256

struct watch {
	int fd;
	evloop_fn fn;
	void *opaque;
};

static int epfd = -1;
static int stopfd = -1;
static struct watch *watches[EVLOOP_MAX_FDS];
static atomic_bool stopping;
/* Devices add and change watches from vCPU threads too: guard the records. */
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
/* Records removed while a batch may still point at them; freed between batches. */
static struct watch *dead[EVLOOP_MAX_FDS];
static int nr_dead;

static void free_dead(void)
{
	while (nr_dead > 0)
		free(dead[--nr_dead]);
}

static struct watch **slot_of(int fd)
{
	for (int i = 0; i < EVLOOP_MAX_FDS; i++)
		if (watches[i] && watches[i]->fd == fd)
			return &watches[i];
	return NULL;
}

int evloop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || stopfd < 0)
		return -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, stopfd, &ev);
}

static int watch_ctl(int op, int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	struct watch **slot = slot_of(fd);
	if (op == EPOLL_CTL_ADD) {
		if (slot)
			return -1;
		for (int i = 0; i < EVLOOP_MAX_FDS && !slot; i++)
			if (!watches[i])
				slot = &watches[i];
		if (!slot || !(*slot = calloc(1, sizeof(**slot))))
			return -1;
	} else if (!slot) {
		return -1;
	}
	**slot = (struct watch){ fd, fn, opaque };
	struct epoll_event ev = { .events = events, .data.ptr = *slot };
	if (epoll_ctl(epfd, op, fd, &ev) < 0) {
		if (op == EPOLL_CTL_ADD) {
			free(*slot);
			*slot = NULL;
		}
		return -1;
	}
	return 0;
}

int evloop_add(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	pthread_mutex_lock(&watch_lock);
	int r = watch_ctl(EPOLL_CTL_ADD, fd, events, fn, opaque);
	pthread_mutex_unlock(&watch_lock);
	return r;
}

int evloop_mod(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	pthread_mutex_lock(&watch_lock);
	int r = watch_ctl(EPOLL_CTL_MOD, fd, events, fn, opaque);
	pthread_mutex_unlock(&watch_lock);
	return r;
}

void evloop_del(int fd)
{
	pthread_mutex_lock(&watch_lock);
	struct watch **slot = slot_of(fd);
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	if (slot) {
		/* The record may still sit in the current batch: mark it dead. */
		(*slot)->fd = -1;
		(*slot)->fn = NULL;
		if (nr_dead < EVLOOP_MAX_FDS)
			dead[nr_dead++] = *slot;
		*slot = NULL;
	}
	pthread_mutex_unlock(&watch_lock);
}

void evloop_run(void)
{
	struct epoll_event evs[32];
	while (!stopping) {
		pthread_mutex_lock(&watch_lock);
		free_dead();
		pthread_mutex_unlock(&watch_lock);
		int n = epoll_wait(epfd, evs, 32, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n && !stopping; i++) {
			struct watch *w = evs[i].data.ptr;
			if (!w)
				continue;
			pthread_mutex_lock(&watch_lock);
			evloop_fn fn = w->fn;
			void *opaque = w->opaque;
			pthread_mutex_unlock(&watch_lock);
			if (fn)
				fn(opaque, evs[i].events);
		}
	}
	pthread_mutex_lock(&watch_lock);
	free_dead();
	pthread_mutex_unlock(&watch_lock);
}

void evloop_stop(void)
{
	uint64_t one = 1;
	stopping = true;
	if (stopfd >= 0 && write(stopfd, &one, sizeof(one)) < 0) {
		/* the flag alone stops the loop at its next wakeup */
	}
}
