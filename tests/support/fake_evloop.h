/*
 * A recording event loop for device tests and fuzz targets that need no
 * special behaviour from it: evloop_add/mod/del keep the watches in a
 * table, and fake_evloop_run_ready() plays the I/O thread once, calling
 * the callback of every watched fd that poll(2) finds ready.
 */
#ifndef VMK_FAKE_EVLOOP_H
#define VMK_FAKE_EVLOOP_H

/* Calls the callbacks of the ready fds once; returns how many ran. */
int fake_evloop_run_ready(void);
/* Forgets every watch (between tests). */
void fake_evloop_reset(void);

#endif
