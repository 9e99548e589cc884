/*
 * TCP/IP stacks: `esxcli network ip netstack list|add|remove|get|set`.
 *
 * defaultTcpipStack always exists (vmkd's own namespace) and cannot be
 * removed.  vmotion and vSphereProvisioning come into being when the
 * first adapter names them (netstack_get_or_create), or by `add`, like
 * any custom stack; a stack name has 1-32 letters, digits, '_' or '-'.
 * Removing a stack is refused while an adapter is on it; its routes go
 * with it.  The kernel side is stackns.c: each stack other than the
 * default one is the namespace vmk-INSTANCE-STACK.
 *
 * Settings (`set`, shown by `get`): the congestion control algorithm
 * (newreno or cubic: the namespace's net.ipv4.tcp_congestion_control,
 * Linux's "reno" for newreno), IPv6 on or off (each adapter's
 * net.ipv6.conf.vmkN.disable_ipv6, and in a stack's own namespace also
 * conf.{all,default}; never those of defaultTcpipStack, vmkd's namespace,
 * where they would switch IPv6 on or off on the host's NICs), and the
 * maximum number of connections (11000 by default; recorded, Linux has
 * no such limit per namespace).  `list` shows State 4660, the value the reference shows
 * for a running stack.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "dns.h"
#include "ip.h"
#include "store.h"
#include "vmklog.h"

#define STACK_STATE_UP 4660

long long netstack_id(const char *name)
{
	return store_int(0, "SELECT id FROM netstack WHERE name = ?", "s", name);
}

json_t *err_no_netstack(const char *name)
{
	return api_invalid("Invalid --netstack '%s': no such netstack", name);
}

bool netstack_ipv6_enabled(const char *name)
{
	return store_int(1, "SELECT ipv6 FROM netstack WHERE name = ?", "s", name) != 0;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= STACK_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int netstack_apply(const char *name, char *err, size_t errlen)
{
	char algo[16] = "newreno";
	bool v6 = netstack_ipv6_enabled(name);
	int r;

	store_text(algo, sizeof(algo), "SELECT ccalgo FROM netstack WHERE name = ?", "s", name);
	r = stackns_sysctl(name, "ipv4/tcp_congestion_control",
			   strcmp(algo, "newreno") == 0 ? "reno" : algo);
	if (r == -EPERM) {
		snprintf(err, errlen, "cannot set congestion control %s: the machine allows only "
			 "the algorithms of net.ipv4.tcp_allowed_congestion_control in a namespace",
			 algo);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot set congestion control %s: %s", algo, strerror(-r));
		return r;
	}
	/* vmkd's own namespace also holds the host's NICs: its adapters'
	 * devices are set one by one (vmknic_rt.c), nothing namespace-wide. */
	for (int i = 0; strcmp(name, DEFAULT_STACK) != 0 && i < 2; i++) {
		r = stackns_sysctl(name, i ? "ipv6/conf/default/disable_ipv6" :
				   "ipv6/conf/all/disable_ipv6", v6 ? "0" : "1");
		if (r < 0 && r != -ENOENT) {
			snprintf(err, errlen, "cannot %s IPv6: %s", v6 ? "enable" : "disable",
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

/* A new stack in the store and the kernel; the id, or 0 after api_fail(). */
static long long create(const char *name)
{
	char err[512];

	if (store_exec("INSERT INTO netstack(name) VALUES (?)", "s", name))
		return API_ERR0(api_store_error());
	if (stackns_realize(name, err, sizeof(err)) < 0)
		return API_ERR0(api_refused("Cannot add netstack %s: %s", name, err));
	if (netstack_apply(name, err, sizeof(err)) < 0) {
		stackns_remove(name, err + 256, 256);
		return API_ERR0(api_refused("Cannot add netstack %s: %s", name, err));
	}
	if (dns_write(name, err, sizeof(err)) < 0)	/* its (empty) resolv.conf: dns.c */
		vmklog_warn("DNS", "%s", err);
	vmklog("Netstack", "netstack %s added", name);
	return netstack_id(name);
}

long long netstack_get_or_create(const char *name, bool *created)
{
	long long id = netstack_id(name);

	*created = false;
	if (id)
		return id;
	if (strcmp(name, "vmotion") != 0 && strcmp(name, "vSphereProvisioning") != 0)
		return API_ERR0(err_no_netstack(name));
	id = create(name);
	*created = id != 0;
	return id;
}

/* ---- handlers ---- */

static json_t *netstack_list(json_t *params)
{
	sqlite3_stmt *st = store_stmt("SELECT name FROM netstack ORDER BY id", "");

	(void)params;
	if (!st)
		return api_store_error();
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, json_pack("{s:s, s:s, s:i}", "Key",
						      store_col_text(st, 0), "Name",
						      store_col_text(st, 0), "State",
						      STACK_STATE_UP));
	sqlite3_finalize(st);
	return list;
}

static json_t *netstack_get(json_t *params)
{
	const char *name = param_str(params, "netstack");
	sqlite3_stmt *st = store_stmt("SELECT name, maxconn, ccalgo, ipv6 FROM netstack "
				      "WHERE name = ?", "s", name);

	if (!st)
		return api_store_error();
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return err_no_netstack(name);
	}
	json_int_t maxconn = sqlite3_column_int64(st, 1);
	bool v6 = sqlite3_column_int(st, 3);
	json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:s, s:b, s:b, s:i}",
			      "Key", store_col_text(st, 0), "Name", store_col_text(st, 0),
			      "Enabled", 1, "MaxConnections", maxconn,
			      "CurrentMaxConnections", maxconn,
			      "CongestionControlAlgorithm", store_col_text(st, 2),
			      "IPv6Enabled", v6, "CurrentIPv6Enabled", v6,
			      "State", STACK_STATE_UP);
	sqlite3_finalize(st);
	return o;
}

static json_t *netstack_add(json_t *params)
{
	const char *name = param_str(params, "netstack");

	if (!name_ok(name))
		return api_invalid("Invalid --netstack '%s': a netstack name has 1 to %d letters, "
				   "digits, '_' or '-'", name, STACK_NAME_MAX);
	if (netstack_id(name))
		return api_invalid("Invalid --netstack '%s': a netstack with this name already "
				   "exists", name);
	return create(name) ? json_true() : NULL;
}

static json_t *netstack_remove(json_t *params)
{
	const char *name = param_str(params, "netstack");
	long long id = netstack_id(name);
	char vmk[64], err[512];

	if (!id)
		return err_no_netstack(name);
	if (strcmp(name, DEFAULT_STACK) == 0)
		return api_refused("Cannot remove netstack %s: it is the host's default TCP/IP "
				   "stack", name);
	if (store_text(vmk, sizeof(vmk), "SELECT name FROM vmknic WHERE netstack = ? ORDER BY id",
		       "l", id))
		return api_refused("Cannot remove netstack %s: it is in use by %s", name, vmk);
	if (store_exec("DELETE FROM netstack WHERE id = ?", "l", id))
		return api_store_error();
	if (stackns_remove(name, err, sizeof(err)) < 0)
		vmklog_warn("Netstack", "%s", err);
	dns_stack_removed(name);
	vmklog("Netstack", "netstack %s removed", name);
	return json_true();
}

static int set_ccalgo(const char *name, const char *algo)
{
	if (strcmp(algo, "newreno") != 0 && strcmp(algo, "cubic") != 0)
		return API_ERR(api_invalid("Invalid --ccalgo '%s': must be newreno or cubic", algo));
	if (store_exec("UPDATE netstack SET ccalgo = ? WHERE name = ?", "ss", algo, name))
		return API_ERR(api_store_error());
	vmklog("Netstack", "netstack %s congestion control set to %s", name, algo);
	return 0;
}

/* Adapters of the stack get their IPv6 addresses again after IPv6 is
 * turned back on. */
static int reapply_adapters(const char *name)
{
	sqlite3_stmt *st = store_stmt("SELECT k.name FROM vmknic k JOIN netstack n ON "
				      "k.netstack = n.id WHERE n.name = ?", "s", name);
	int r = st ? 0 : API_ERR(api_store_error());

	while (r == 0 && sqlite3_step(st) == SQLITE_ROW)
		r = vmknic_apply(store_col_text(st, 0));
	sqlite3_finalize(st);
	return r;
}

static json_t *netstack_set(json_t *params)
{
	const char *name = param_str(params, "netstack"), *algo = param_str(params, "ccalgo");
	bool has_v6 = param_has(params, "ipv6enabled"), v6 = param_bool(params, "ipv6enabled", 1);
	long long maxconn = param_int(params, "maxconn", 0);
	char err[512];

	if (!netstack_id(name))
		return err_no_netstack(name);
	if (!algo && !has_v6 && !maxconn)
		return api_invalid("Nothing to set: give -c|--ccalgo, -i|--ipv6enabled or "
				   "-m|--maxconn");
	if (algo && set_ccalgo(name, algo))
		return NULL;
	if (maxconn && store_exec("UPDATE netstack SET maxconn = ? WHERE name = ?", "ls",
				  maxconn, name))
		return api_store_error();
	if (has_v6 && store_exec("UPDATE netstack SET ipv6 = ? WHERE name = ?", "ds", (int)v6,
				 name))
		return api_store_error();
	if (netstack_apply(name, err, sizeof(err)) < 0)
		return api_refused("Cannot change netstack %s: %s", name, err);
	if (has_v6 && reapply_adapters(name))	/* their devices' IPv6, addresses */
		return NULL;
	if (maxconn)
		vmklog("Netstack", "netstack %s maximum connections set to %lld", name, maxconn);
	if (has_v6)
		vmklog("Netstack", "netstack %s IPv6 %s", name, v6 ? "enabled" : "disabled");
	return json_true();
}

static const struct api_method methods[] = {
	{ "network.ip.netstack.list", netstack_list },
	{ "network.ip.netstack.get", netstack_get },
	{ "network.ip.netstack.add", netstack_add },
	{ "network.ip.netstack.remove", netstack_remove },
	{ "network.ip.netstack.set", netstack_set },
	{ 0 }
};

void netstack_register(void)
{
	api_register(methods);
}
