/*
 * Building the kernel side of the host's IP network from the store when
 * vmkd starts, before it serves requests, and letting go of it at exit.
 *
 * Start: every stack (its namespace created, or reused when an earlier
 * vmkd left it: a kill -9 or a clean stop both leave the names), then
 * the names of this instance the store does not know are deleted, then
 * every adapter (a new TAP: the old ones died with the old process's
 * fds), then every stack's routes.  A piece that cannot be realized is
 * logged as a warning and the rest goes on: the host serves its API and
 * the configuration stays as stored.
 *
 * Exit: the adapters are unplugged and their TAPs closed (the devices
 * vanish with the fds), and the stacks' fds closed; namespace names stay
 * for the next start.  They go only when their stack is removed.
 */
#include <stdio.h>

#include "dns.h"
#include "ip.h"
#include "store.h"
#include "vmklog.h"
#include "vmknic_rt.h"

static int realize_stacks(void)
{
	sqlite3_stmt *st = store_stmt("SELECT name FROM netstack ORDER BY id", "");
	char err[512];
	int n = 0;

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = store_col_text(st, 0);
		if (stackns_realize(name, err, sizeof(err)) < 0 ||
		    netstack_apply(name, err, sizeof(err)) < 0)
			vmklog_warn("Netstack", "netstack %s not realized: %s", name, err);
		else
			n++;
	}
	sqlite3_finalize(st);
	return n;
}

static int realize_adapters(void)
{
	sqlite3_stmt *st = store_stmt("SELECT name FROM vmknic "
				      "ORDER BY CAST(substr(name, 4) AS INTEGER)", "");
	struct vmknic_cfg c;
	char err[512];
	int n = 0;

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = store_col_text(st, 0);
		if (vmknic_load(name, &c) <= 0)
			continue;
		if (vmknic_rt_create(&c, err, sizeof(err)) < 0)
			vmklog_warn("Vmknic", "%s not realized: %s", name, err);
		else
			n++;
	}
	sqlite3_finalize(st);
	return n;
}

static void realize_routes(void)
{
	sqlite3_stmt *st = store_stmt("SELECT name FROM netstack ORDER BY id", "");

	while (st && sqlite3_step(st) == SQLITE_ROW)
		routes_sync(store_col_text(st, 0));
	sqlite3_finalize(st);
}

int net_realize(const char *instance)
{
	char err[512];

	dns_realize(instance);	/* files only: done even if the kernel side fails */
	if (stackns_init(instance, err, sizeof(err)) < 0) {
		vmklog_warn("Netstack", "%s", err);
		return -1;
	}
	int stacks = realize_stacks();
	int pruned = stackns_prune();
	int adapters = realize_adapters();
	realize_routes();
	vmklog("Netstack", "realized %d netstacks and %d VMkernel adapters (%lld routes "
	       "configured)%s", stacks, adapters, store_int(0, "SELECT count(*) FROM route", ""),
	       pruned ? "; stale namespaces deleted" : "");
	return 0;
}

void net_unrealize(void)
{
	vmknic_rt_shutdown();
	stackns_shutdown();
}
