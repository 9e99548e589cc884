/*
 * vmkconsole PATH: attaches this terminal to a VM's serial console, the
 * unix socket vmx listens on with --serial unix:PATH.  The terminal goes
 * raw and a poll loop copies bytes both ways.  Ctrl-] or the socket
 * closing ends it; the terminal is restored at exit.  When stdin is not a
 * terminal and reaches end of file, output keeps flowing.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"

#define ESCAPE_KEY 0x1d         /* Ctrl-] */

static struct termios saved_tio;
static bool tty_raw;

static void restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		fputc('\n', stderr);   /* the shell prompt starts on a new line */
	}
	tty_raw = false;
}

static void make_raw(void)
{
	struct termios t;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	t = saved_tio;
	cfmakeraw(&t);
	t.c_oflag = saved_tio.c_oflag;  /* keep newline handling for messages */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
		tty_raw = true;
		atexit(restore_tty);
	}
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		die("cannot connect to %s: %s", path, strerror(ENAMETOOLONG));
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot connect to %s: %s", path, strerror(errno));
	return fd;
}

static bool write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Terminal to socket; false once the user pressed Ctrl-]. */
static bool from_terminal(int sock, bool *stdin_open)
{
	uint8_t buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n <= 0) {
		*stdin_open = n < 0 && errno == EINTR;
		return true;
	}
	uint8_t *esc = memchr(buf, ESCAPE_KEY, (size_t)n);
	size_t len = esc ? (size_t)(esc - buf) : (size_t)n;
	return write_all(sock, buf, len) && !esc;
}

/* Socket to terminal; false once the socket is closed. */
static bool from_socket(int sock)
{
	uint8_t buf[4096];
	ssize_t n = read(sock, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return true;
	return n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n);
}

int main(int argc, char **argv)
{
	log_set_prog("vmkconsole");
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: vmkconsole PATH\n"
			"Attaches to a VM's serial console socket; Ctrl-] detaches.\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int sock = connect_to(argv[1]);
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "vmkconsole: connected to %s, Ctrl-] to detach\n", argv[1]);
	make_raw();
	bool stdin_open = true, running = true;
	while (running) {
		struct pollfd pfd[2] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			running = from_socket(sock);
		if (running && pfd[1].revents)
			running = from_terminal(sock, &stdin_open);
	}
	restore_tty();
	close(sock);
	return 0;
}
