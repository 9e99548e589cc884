/*
 * Opening a port's fd inside another network namespace.
 *
 * A TAP must be created in the namespace of the TCP/IP stack that owns the
 * adapter, and a packet socket bound to an interface of its namespace, but
 * the fds work from any namespace afterwards.  dp_in_netns switches the
 * calling thread (only it: setns is per thread) into /run/netns/NAME,
 * runs the opener and switches back.  Failing to come back would leave
 * the thread, and all it later opens, in the wrong namespace, so that
 * aborts the process rather than carry on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath.h"

static bool netns_name_ok(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && strlen(name) < NAME_MAX;
}

int dp_in_netns(const char *netns, int (*fn)(void *arg), void *arg)
{
	char path[PATH_MAX];
	int rc;

	if (!netns)
		return fn(arg);
	if (!netns_name_ok(netns))
		return -EINVAL;
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	int target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		return -errno;
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0 || setns(target, CLONE_NEWNET) < 0) {
		rc = -errno;
		if (home >= 0)
			close(home);
		close(target);
		return rc;
	}
	rc = fn(arg);
	if (setns(home, CLONE_NEWNET) < 0)
		abort();
	close(home);
	close(target);
	return rc;
}
