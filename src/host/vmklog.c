/*
 * vmkernel.log writer.  Each line goes out in one write() on an O_APPEND
 * fd, so lines from several writers never interleave and a crash leaves
 * whole lines.  Held lines wait in a growing buffer until release.
 */
#include "vmklog.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 1024

static int log_fd = -1;
static bool holding;
static char *held;
static size_t held_len, held_cap;

int vmklog_open(const char *path)
{
	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	return log_fd < 0 ? -errno : 0;
}

void vmklog_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

static int stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	return (int)n + snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void hold(const char *line, size_t n)
{
	if (held_len + n > held_cap) {
		size_t cap = (held_len + n) * 2;
		char *p = realloc(held, cap);
		if (!p)
			return;
		held = p;
		held_cap = cap;
	}
	memcpy(held + held_len, line, n);
	held_len += n;
}

static void emit(const char *buf, size_t n)
{
	if (log_fd < 0)
		return;
	while (n > 0) {
		ssize_t w = write(log_fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

void vmklog_write(bool warning, const char *subsys, int line, const char *fmt, ...)
{
	char buf[LINE_MAX_LEN];
	int n = stamp(buf, sizeof(buf));
	va_list ap;

	n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s cpu%d:%d)%s%s: %d: ",
		      warning ? "Wa(180) vmkwarning:" : "In(182) vmkernel:",
		      sched_getcpu(), (int)gettid(), warning ? "WARNING: " : "", subsys, line);
	va_start(ap, fmt);
	if (n < (int)sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (holding)
		hold(buf, (size_t)n);
	else
		emit(buf, (size_t)n);
}

void vmklog_hold(void)
{
	holding = true;
	held_len = 0;
}

void vmklog_release(bool keep)
{
	if (keep && held_len)
		emit(held, held_len);
	holding = false;
	held_len = 0;
}
