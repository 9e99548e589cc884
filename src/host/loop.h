/*
 * vmkd's event loop: one epoll set on the main thread.  Each watched fd
 * has a callback; callbacks run one at a time, so the model, the store
 * and the log need no locks.  The API socket, its clients and the signal
 * fd are watched here; later the datapath's control fds can be too.
 */
#ifndef VMKD_LOOP_H
#define VMKD_LOOP_H

#include <stdint.h>

typedef void (*loop_fn)(void *arg, uint32_t events);

int loop_init(void);
/* Watches fd for events (EPOLLIN, EPOLLOUT...).  0, or -errno. */
int loop_add(int fd, uint32_t events, loop_fn fn, void *arg);
int loop_mod(int fd, uint32_t events);
void loop_del(int fd);
/* Runs callbacks until loop_stop(). */
void loop_run(void);
void loop_stop(void);

#endif
