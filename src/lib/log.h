/*
 * Diagnostics for vmk's processes.  vmx prints to stderr; vmkd later adds
 * vmkernel.log as a sink.  die() is for setup errors: one line naming
 * what is wrong, then exit status 1.
 */
#ifndef VMK_LOG_H
#define VMK_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_prog(const char *prog);
void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Functions run by die() before exiting, newest first (cleanup of TAPs, sockets). */
void log_atexit_cleanup(void (*fn)(void));

#endif
