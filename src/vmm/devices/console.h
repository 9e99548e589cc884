/*
 * Console backends: where a serial port's bytes go and come from.
 *
 * Output (console_write) may be called from any vCPU thread; it never
 * blocks on a unix-socket client (what does not fit is dropped and
 * counted).  Input is read on the I/O thread (evloop) and handed to one
 * receiver, which may take fewer bytes than offered: it must then pause
 * input (console_pause_input(con, true)) before returning, and resume it
 * when it has room again.  Bytes it did not take are kept, not lost.
 */
#ifndef VMK_CONSOLE_H
#define VMK_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CONSOLE_RING_SIZE (64 * 1024)

struct console;

/* Takes up to len bytes of input; returns how many it took. */
typedef size_t (*console_rx_fn)(void *opaque, const uint8_t *buf, size_t len);

struct console_stats {
	uint64_t out_bytes;     /* bytes written to the backend (or ring) */
	uint64_t out_dropped;   /* bytes a slow or absent reader lost */
	uint64_t in_bytes;      /* bytes handed to the receiver */
	bool client;            /* unix: a client is attached */
	bool input_paused;
};

/*
 * Opens a backend: SERIAL_STDIO (path unused), SERIAL_FILE (path is
 * truncated), SERIAL_UNIX (listens on path), SERIAL_NONE.  Registers its
 * fds with the evloop, which must be initialised.  On failure returns NULL
 * and console_error() says why in one line.
 */
struct console *console_open(enum serial_mode mode, const char *path);
/* The last console_open failure, e.g. "cannot listen on unix:/x: ..." */
const char *console_error(void);
/* Undoes console_open: restores the tty, removes the socket file.  Call
 * when the evloop no longer runs. */
void console_close(struct console *con);

/* Sends guest output; safe from any thread. */
void console_write(struct console *con, const uint8_t *buf, size_t len);

/* Installs the input receiver (before the evloop runs). */
void console_set_receiver(struct console *con, console_rx_fn fn, void *opaque);
/* Stops (true) or restarts (false) input; safe from any thread. */
void console_pause_input(struct console *con, bool pause);

/* Never waits on a blocked writer; safe from any thread. */
void console_stats(struct console *con, struct console_stats *out);

#endif
