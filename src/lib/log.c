/*
 * Diagnostics.  Messages are single lines prefixed with the program name,
 * so that a setup error reads "vmx: cannot open kernel 'x': No such file".
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

static const char *prog_name = "vmk";
static enum log_level max_level = LOG_WARN;
static void (*cleanups[8])(void);
static int nr_cleanups;

void log_set_prog(const char *prog) { prog_name = prog; }
void log_set_level(enum log_level level) { max_level = level; }

void log_atexit_cleanup(void (*fn)(void))
{
	if (nr_cleanups < (int)(sizeof(cleanups) / sizeof(cleanups[0])))
		cleanups[nr_cleanups++] = fn;
}

static void vlog(const char *fmt, va_list ap)
{
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s: %s\n", prog_name, line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > max_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
	while (nr_cleanups > 0)
		cleanups[--nr_cleanups]();
	exit(1);
}
