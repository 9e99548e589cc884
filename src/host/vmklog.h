/*
 * vmkernel.log: what the host did, in the reference's line format (an
 * ESXi 8 vmkernel.log line):
 *
 *   2025-01-31T09:12:45.123Z In(182) vmkernel: cpu1:4242)Net: 212: vSwitch1 added
 *
 * UTC time with milliseconds, the syslog severity and facility tag, the
 * CPU the thread runs on and its world id (the thread id), then the
 * subsystem, the source line and the message.  Warnings read
 * "Wa(180) vmkwarning: cpuN:W)WARNING: Subsys: ...".
 *
 * While a store transaction is open the lines are held back and written
 * only if it commits, so the log never reports a change that did not
 * happen.
 */
#ifndef VMKD_VMKLOG_H
#define VMKD_VMKLOG_H

#include <stdbool.h>

/* Opens (creating) the log for appending.  0, or -errno. */
int vmklog_open(const char *path);
void vmklog_close(void);

void vmklog_write(bool warning, const char *subsys, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define vmklog(subsys, ...) vmklog_write(false, (subsys), __LINE__, __VA_ARGS__)
#define vmklog_warn(subsys, ...) vmklog_write(true, (subsys), __LINE__, __VA_ARGS__)

/* Hold lines back from now on; release writes them (keep) or drops them. */
void vmklog_hold(void);
void vmklog_release(bool keep);

#endif
