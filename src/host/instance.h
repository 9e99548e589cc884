/*
 * The instance: every path of one vmkd derives from its name, so several
 * hosts run side by side on one machine (docs/vmkd.md, "Instance").
 *
 *   state  $VMK_ROOT/var/lib/vmk/NAME/vmk.db
 *   run    $VMK_ROOT/run/vmk/NAME/vmkd.sock, vmkd.pid
 *   log    $VMK_ROOT/var/log/vmkernel.log            (NAME = default)
 *          $VMK_ROOT/var/log/vmk/NAME/vmkernel.log   (other names)
 *
 * VMK_ROOT is for tests; it is normally unset.  One vmkd per instance:
 * the pid file is held with flock() for the daemon's life, so a second
 * start fails at once, and the lock dies with the process however it
 * ends (kill -9 included).
 */
#ifndef VMKD_INSTANCE_H
#define VMKD_INSTANCE_H

#include <limits.h>
#include <stddef.h>
#include <sys/un.h>

#define INSTANCE_NAME_MAX 32

struct instance {
	char name[INSTANCE_NAME_MAX + 1];
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];
	char log_dir[PATH_MAX];
	char db_path[PATH_MAX];
	char pid_path[PATH_MAX];
	char log_path[PATH_MAX];
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Checks the name ([A-Za-z0-9_]{1,32}: no '-', so that a stack's namespace
 * name vmk-INSTANCE-STACK splits at its second '-') and computes the paths.
 * 0, or -1 with a message in err. */
int instance_init(struct instance *in, const char *name, char *err, size_t errlen);
/* Creates the state, run and log directories. */
int instance_mkdirs(const struct instance *in, char *err, size_t errlen);
/* Takes the instance lock and writes the pid.  The fd (kept open for
 * the daemon's life), or -1 with a message in err. */
int instance_lock(const struct instance *in, char *err, size_t errlen);
/* Removes the socket and pid file at a clean exit (the lock still held). */
void instance_cleanup(const struct instance *in);

#endif
