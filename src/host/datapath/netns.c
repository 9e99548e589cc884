/*
 * Opening a port's fd inside another network namespace.
 *
 * A TAP must be created in the namespace of the TCP/IP stack that owns the
 * adapter, and a packet socket bound to an interface of its namespace, but
 * the fds work from any namespace afterwards.  dp_in_netns runs the opener
 * in /run/netns/NAME through vmklib's netns_run (a short-lived thread
 * enters the namespace, so the caller's thread never moves).
 */
#include <errno.h>
#include <unistd.h>

#include "datapath.h"
#include "netns.h"

int dp_in_netns(const char *netns, int (*fn)(void *arg), void *arg)
{
	if (!netns)
		return fn(arg);
	int fd = netns_open(netns);
	if (fd < 0)
		return fd;
	int rc = netns_run(fd, fn, arg);
	close(fd);
	return rc;
}
