/*
 * The I/O thread's event loop: one epoll set for every file descriptor a
 * device or the control socket waits on (console input, TAP frames,
 * client connections).  Callbacks run on the I/O thread, one at a time.
 */
#ifndef VMK_EVLOOP_H
#define VMK_EVLOOP_H

#include <stdint.h>

typedef void (*evloop_fn)(void *opaque, uint32_t events);

int evloop_init(void);
/* Watches fd for events (EPOLLIN...); returns 0 or -1. */
int evloop_add(int fd, uint32_t events, evloop_fn fn, void *opaque);
int evloop_mod(int fd, uint32_t events, evloop_fn fn, void *opaque);
void evloop_del(int fd);
/* Runs until evloop_stop(); returns when stopped. */
void evloop_run(void);
/* Safe from any thread and from signal handlers. */
void evloop_stop(void);

#endif
