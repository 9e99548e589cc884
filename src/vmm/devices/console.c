/*
 * Console backends.
 *
 * Output: console_write runs on vCPU threads under the console's lock.
 * stdout and files get a plain write (what a test harness captures must
 * not be lost); a unix-socket client gets one non-blocking send, and what
 * does not fit is dropped and counted, so a stuck client never stalls a
 * vCPU.  With no client attached, output goes to a 64 KiB ring that
 * keeps the newest bytes and is replayed to the next client.
 *
 * Input lives on the I/O thread only.  The input fd (stdin or the
 * client) is watched only while input is wanted: a receiver is set, input
 * is not paused and no earlier bytes are still pending.  Bytes read go to
 * a small pending buffer and are offered to the receiver; what it does
 * not take stays there until it resumes input.  Other threads never touch
 * the evloop: console_pause_input(false) writes an eventfd ("kick") and
 * the I/O thread re-syncs on it.  Pausing needs no kick: the next input
 * event sees the flag and stops watching.
 *
 * Process state (tty mode, socket file) is also undone by an atexit
 * handler, so die() and plain exit() leave the terminal usable.
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "evloop.h"

struct console {
	enum serial_mode mode;
	struct console *next;           /* list for the atexit handler */

	pthread_mutex_t lock;           /* guards the output side below */
	int out_fd;                     /* stdout or the file, else -1 */
	int client_fd;                  /* unix: attached client or -1 */
	uint8_t *ring;                  /* unix: output with no client */
	size_t ring_start, ring_len;
	_Atomic uint64_t out_bytes, out_dropped;        /* read without the lock */
	atomic_bool attached;                           /* client_fd >= 0 */

	int listen_fd;
	char *path;                     /* set once we own the socket file */
	bool tty_raw;
	struct termios tio_saved;

	/* input: I/O thread only, except paused and in_bytes */
	int in_fd;                      /* stdin or client_fd, else -1 */
	bool in_watched;
	int kick_fd;
	atomic_bool paused;
	_Atomic uint64_t in_bytes;
	console_rx_fn rx;
	void *rx_opaque;
	uint8_t pend[256];
	size_t pend_off, pend_len;
};

static char error_text[512];
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct console *open_list;
static bool atexit_done;

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error_text, sizeof(error_text), fmt, ap);
	va_end(ap);
}

const char *console_error(void)
{
	return error_text;
}

/* ---- process state undone at exit ---- */

static void undo_process_state(struct console *con)
{
	if (con->tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &con->tio_saved);
	if (con->path)
		unlink(con->path);
}

static void console_atexit(void)
{
	pthread_mutex_lock(&list_lock);
	for (struct console *c = open_list; c; c = c->next)
		undo_process_state(c);
	pthread_mutex_unlock(&list_lock);
}

static void track(struct console *con)
{
	pthread_mutex_lock(&list_lock);
	if (!atexit_done)
		atexit_done = atexit(console_atexit) == 0;
	con->next = open_list;
	open_list = con;
	pthread_mutex_unlock(&list_lock);
}

static void untrack(struct console *con)
{
	pthread_mutex_lock(&list_lock);
	for (struct console **p = &open_list; *p; p = &(*p)->next) {
		if (*p == con) {
			*p = con->next;
			break;
		}
	}
	pthread_mutex_unlock(&list_lock);
}

/* ---- output ---- */

/* Blocking write of all of buf; returns how much got out. */
static size_t write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno != EINTR)
			break;
	}
	return done;
}

static size_t send_some(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;
	do {
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n > 0 ? (size_t)n : 0;
}

static void ring_put(struct console *con, const uint8_t *buf, size_t len)
{
	if (len > CONSOLE_RING_SIZE) {
		con->out_dropped += len - CONSOLE_RING_SIZE;
		buf += len - CONSOLE_RING_SIZE;
		len = CONSOLE_RING_SIZE;
	}
	size_t end = (con->ring_start + con->ring_len) % CONSOLE_RING_SIZE;
	size_t first = CONSOLE_RING_SIZE - end < len ? CONSOLE_RING_SIZE - end : len;
	memcpy(con->ring + end, buf, first);
	memcpy(con->ring, buf + first, len - first);
	size_t total = con->ring_len + len;
	if (total > CONSOLE_RING_SIZE) {
		size_t lost = total - CONSOLE_RING_SIZE;
		con->out_dropped += lost;
		con->ring_start = (con->ring_start + lost) % CONSOLE_RING_SIZE;
		total = CONSOLE_RING_SIZE;
	}
	con->ring_len = total;
}

/* Sends the ring to the new client; called with the lock held. */
static void ring_replay(struct console *con)
{
	while (con->ring_len > 0) {
		size_t chunk = CONSOLE_RING_SIZE - con->ring_start;
		if (chunk > con->ring_len)
			chunk = con->ring_len;
		size_t n = send_some(con->client_fd, con->ring + con->ring_start, chunk);
		con->ring_start = (con->ring_start + n) % CONSOLE_RING_SIZE;
		con->ring_len -= n;
		if (n < chunk)
			break;
	}
	con->out_dropped += con->ring_len;
	con->ring_start = con->ring_len = 0;
}

void console_write(struct console *con, const uint8_t *buf, size_t len)
{
	if (!con || len == 0)
		return;
	pthread_mutex_lock(&con->lock);
	size_t done = len;
	if (con->out_fd >= 0)
		done = write_all(con->out_fd, buf, len);
	else if (con->client_fd >= 0)
		done = send_some(con->client_fd, buf, len);
	else if (con->ring)
		ring_put(con, buf, len);
	con->out_bytes += done;
	con->out_dropped += len - done;
	pthread_mutex_unlock(&con->lock);
}

/* ---- input (I/O thread) ---- */

static void on_input(void *opaque, uint32_t events);

static void input_sync(struct console *con)
{
	bool want = con->in_fd >= 0 && con->rx && !atomic_load(&con->paused) &&
		    con->pend_len == 0;
	if (want == con->in_watched)
		return;
	if (!want) {
		evloop_del(con->in_fd);
		con->in_watched = false;
	} else if (evloop_add(con->in_fd, EPOLLIN, on_input, con) == 0) {
		con->in_watched = true;
	}
}

/* Offers pending bytes until the receiver stops taking them. */
static void input_deliver(struct console *con)
{
	while (con->pend_len > 0 && con->rx && !atomic_load(&con->paused)) {
		size_t n = con->rx(con->rx_opaque, con->pend + con->pend_off,
				   con->pend_len);
		if (n > con->pend_len)
			n = con->pend_len;
		con->pend_off += n;
		con->pend_len -= n;
		atomic_fetch_add(&con->in_bytes, n);
		if (n == 0)
			break;  /* full: its resume kicks us again */
	}
	if (con->pend_len == 0)
		con->pend_off = 0;
	input_sync(con);
}

static void detach_client(struct console *con)
{
	pthread_mutex_lock(&con->lock);
	int fd = con->client_fd;
	con->client_fd = -1;
	atomic_store(&con->attached, false);
	pthread_mutex_unlock(&con->lock);
	if (con->in_watched)
		evloop_del(fd);
	con->in_watched = false;
	con->in_fd = -1;
	close(fd);
}

static void input_eof(struct console *con)
{
	if (con->mode == SERIAL_UNIX) {
		detach_client(con);
		return;
	}
	if (con->in_watched)
		evloop_del(con->in_fd);
	con->in_watched = false;
	con->in_fd = -1;        /* stdin stays open: other code may use fd 0 */
}

static void on_input(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	(void)events;   /* a hangup shows up as read() == 0 or an error */
	if (con->pend_len > 0 || atomic_load(&con->paused)) {
		input_sync(con);
		return;
	}
	ssize_t n = read(con->in_fd, con->pend, sizeof(con->pend));
	if (n > 0) {
		con->pend_off = 0;
		con->pend_len = (size_t)n;
		input_deliver(con);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		input_eof(con);
	}
}

static void on_kick(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	uint64_t v;
	(void)events;
	if (read(con->kick_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a spurious wakeup, nothing to drain */
	}
	input_deliver(con);
}

static void kick(struct console *con)
{
	uint64_t one = 1;
	if (con->kick_fd >= 0 && write(con->kick_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the wakeup is pending */
	}
}

static void on_accept(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	(void)events;
	int fd = accept4(con->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (con->client_fd >= 0)
		detach_client(con);     /* the newest client wins */
	pthread_mutex_lock(&con->lock);
	con->client_fd = fd;
	atomic_store(&con->attached, true);
	ring_replay(con);
	pthread_mutex_unlock(&con->lock);
	con->in_fd = fd;
	input_sync(con);
}

void console_set_receiver(struct console *con, console_rx_fn fn, void *opaque)
{
	if (!con)
		return;
	con->rx = fn;
	con->rx_opaque = opaque;
	kick(con);
}

void console_pause_input(struct console *con, bool pause)
{
	if (!con)
		return;
	atomic_store(&con->paused, pause);
	if (!pause)
		kick(con);
}

/* ---- opening ---- */

/* Input from stdin only for a pipe, a socket or our foreground tty. */
static bool stdin_usable(void)
{
	struct stat st;
	if (fstat(STDIN_FILENO, &st) < 0)
		return false;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return true;
	return isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
}

/* Raw input (every key, Ctrl-C included, goes to the guest); output
 * processing is kept so that vmx's own messages still start a new line. */
static void make_raw(struct console *con)
{
	struct termios t;
	if (tcgetattr(STDIN_FILENO, &con->tio_saved) < 0)
		return;
	t = con->tio_saved;
	cfmakeraw(&t);
	t.c_oflag = con->tio_saved.c_oflag;
	con->tty_raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
}

static int open_stdio(struct console *con)
{
	con->out_fd = STDOUT_FILENO;
	if (stdin_usable()) {
		con->in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO))
			make_raw(con);
	}
	return 0;
}

static int open_file(struct console *con, const char *path)
{
	con->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (con->out_fd < 0) {
		set_error("cannot open file:%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A socket file nobody listens on is left over from a dead vmx. */
static bool stale_socket(const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(sa->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool stale = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 &&
		     errno == ECONNREFUSED;
	close(fd);
	return stale;
}

static int bind_listen(int fd, const struct sockaddr_un *sa)
{
	const struct sockaddr *addr = (const struct sockaddr *)sa;
	if (bind(fd, addr, sizeof(*sa)) < 0) {
		if (errno != EADDRINUSE || !stale_socket(sa))
			return -1;
		unlink(sa->sun_path);
		if (bind(fd, addr, sizeof(*sa)) < 0)
			return -1;
	}
	return listen(fd, 4);
}

static int open_unix(struct console *con, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_error("cannot listen on unix:%s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	strcpy(sa.sun_path, path);
	con->ring = malloc(CONSOLE_RING_SIZE);
	con->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (!con->ring || con->listen_fd < 0 || bind_listen(con->listen_fd, &sa) < 0) {
		set_error("cannot listen on unix:%s: %s", path, strerror(errno));
		return -1;
	}
	con->path = strdup(path);
	if (!con->path || evloop_add(con->listen_fd, EPOLLIN, on_accept, con) < 0) {
		set_error("cannot listen on unix:%s: cannot watch the socket", path);
		unlink(path);
		return -1;
	}
	return 0;
}

static int open_kick(struct console *con)
{
	con->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->kick_fd < 0 || evloop_add(con->kick_fd, EPOLLIN, on_kick, con) < 0) {
		set_error("cannot watch console input: %s",
			  con->kick_fd < 0 ? strerror(errno) : "event loop not ready");
		return -1;
	}
	return 0;
}

static int open_backend(struct console *con, enum serial_mode mode, const char *path)
{
	switch (mode) {
	case SERIAL_STDIO: return open_stdio(con);
	case SERIAL_FILE: return open_file(con, path);
	case SERIAL_UNIX: return open_unix(con, path);
	case SERIAL_NONE: return 0;
	}
	set_error("unknown serial mode %d", (int)mode);
	return -1;
}

struct console *console_open(enum serial_mode mode, const char *path)
{
	struct console *con = calloc(1, sizeof(*con));
	if (!con) {
		set_error("cannot open the console: %s", strerror(errno));
		return NULL;
	}
	con->mode = mode;
	con->out_fd = con->client_fd = con->listen_fd = con->in_fd = con->kick_fd = -1;
	pthread_mutex_init(&con->lock, NULL);
	int r = open_backend(con, mode, path ? path : "");
	if (r == 0 && (con->in_fd >= 0 || mode == SERIAL_UNIX))
		r = open_kick(con);
	if (r < 0) {
		console_close(con);
		return NULL;
	}
	track(con);
	return con;
}

static void close_watched(int fd)
{
	if (fd >= 0) {
		evloop_del(fd);
		close(fd);
	}
}

void console_close(struct console *con)
{
	if (!con)
		return;
	untrack(con);
	if (con->in_watched && con->in_fd != con->client_fd)
		evloop_del(con->in_fd);
	close_watched(con->client_fd);
	close_watched(con->listen_fd);
	close_watched(con->kick_fd);
	if (con->out_fd > STDERR_FILENO)
		close(con->out_fd);
	undo_process_state(con);
	pthread_mutex_destroy(&con->lock);
	free(con->ring);
	free(con->path);
	free(con);
}

void console_stats(struct console *con, struct console_stats *out)
{
	*out = (struct console_stats){ 0 };
	if (!con)
		return;
	out->out_bytes = atomic_load(&con->out_bytes);
	out->out_dropped = atomic_load(&con->out_dropped);
	out->client = atomic_load(&con->attached);
	out->in_bytes = atomic_load(&con->in_bytes);
	out->input_paused = atomic_load(&con->paused);
}
