/*
 * IP settings of VMkernel adapters: `esxcli network ip interface ipv4
 * get|set`, `ipv6 get|set` and `ipv6 address list|add|remove`.
 *
 * IPv4 (the reference's `ipv4 set`): --type static needs --ipv4 and
 * --netmask and may take --gateway, the adapter's own gateway (on its
 * network; used by traffic leaving through it, see vmknic_rt.h); dhcp
 * and none take none of them; --peer-dns goes with dhcp.  A static
 * address is unique within its stack.  `ipv4 get` shows 0.0.0.0 where
 * nothing is set, and the broadcast address derived from the two; for
 * a DHCP adapter, the address, netmask and gateway of its lease while
 * it has one (dhcp.h, vmknic_rt.h).
 *
 * IPv6: static addresses (at most VMKNIC_IPV6_MAX per adapter, unique
 * in the stack, not link-local: the kernel makes that one), DHCPv6 and
 * router advertisements as settings (router advertisements turn on the
 * kernel's accept_ra and autoconf for the adapter; DHCPv6 is recorded).
 * `ipv6 address list` shows the static addresses, type STATIC, status
 * PREFERRED (they are added without duplicate address detection).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "ip.h"
#include "store.h"
#include "vmklog.h"
#include "vmknic_rt.h"

/* ---- ipv4 get ---- */

/* The lease's address, netmask and gateway of a DHCP adapter, as text. */
static bool dhcp_fields(const char *name, char *addr, char *mask, char *gw)
{
	struct in_addr a, m, g;

	if (!vmknic_rt_dhcp_ipv4(name, &a, &m, &g))
		return false;
	ip4_str(a, addr);
	ip4_str(m, mask);
	if (g.s_addr)
		ip4_str(g, gw);
	else
		gw[0] = '\0';
	return true;
}

void vmknic_ipv4_fields(json_t *o, const char *name, const char *type, const char *addr,
			const char *mask, const char *gw)
{
	char bcast[IP4_STRLEN] = "0.0.0.0", lease[3][IP4_STRLEN];
	struct in_addr a;
	bool leased = strcmp(type, "DHCP") == 0 && dhcp_fields(name, lease[0], lease[1], lease[2]);

	if (leased) {
		addr = lease[0];
		mask = lease[1];
		gw = lease[2];
	}
	bool set = (leased || strcmp(type, "STATIC") == 0) && ip4_parse(addr, &a);
	if (set)
		ip4_str(ip4_broadcast(a, ip4_mask_len(mask)), bcast);
	json_object_set_new(o, "IPv4Address", json_string(set ? addr : "0.0.0.0"));
	json_object_set_new(o, "IPv4Netmask", json_string(set ? mask : "0.0.0.0"));
	json_object_set_new(o, "IPv4Broadcast", json_string(bcast));
	json_object_set_new(o, "AddressType", json_string(type));
	json_object_set_new(o, "Gateway", json_string(set && gw[0] ? gw : "0.0.0.0"));
}

/* The filter of the get/list commands: -i and -N, both optional. */
static int check_filter(json_t *params)
{
	const char *i = param_str(params, "interface-name"), *n = param_str(params, "netstack");

	if (i && !vmknic_id(i))
		return API_ERR(err_no_vmknic(i));
	if (n && !netstack_id(n))
		return API_ERR(err_no_netstack(n));
	return 0;
}

#define FILTER_SQL \
	"FROM vmknic k JOIN netstack n ON k.netstack = n.id WHERE (?1 IS NULL OR k.name = ?1) " \
	"AND (?2 IS NULL OR n.name = ?2) ORDER BY CAST(substr(k.name, 4) AS INTEGER)"

static sqlite3_stmt *filtered(json_t *params, const char *columns)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT %s " FILTER_SQL, columns);
	return store_stmt(sql, "ss", param_str(params, "interface-name"),
			  param_str(params, "netstack"));
}

static json_t *ipv4_get(json_t *params)
{
	if (check_filter(params))
		return NULL;
	sqlite3_stmt *st = filtered(params, "k.name, k.ipv4_type, k.ipv4_address, "
				    "k.ipv4_netmask, k.ipv4_gateway, k.ipv4_peer_dns");
	if (!st)
		return api_store_error();
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_pack("{s:s}", "Name", store_col_text(st, 0));
		vmknic_ipv4_fields(o, store_col_text(st, 0), store_col_text(st, 1),
				   store_col_text(st, 2),
				   store_col_text(st, 3), store_col_text(st, 4));
		json_object_set_new(o, "DHCPDNS", json_boolean(sqlite3_column_int(st, 5)));
		json_array_append_new(list, o);
	}
	sqlite3_finalize(st);
	return list;
}

/* ---- ipv4 set ---- */

struct ipv4_req {
	const char *name, *ip, *mask, *gw;
	char type[8];
	long long id, stack;
	int len;
};

static int ipv4_type(json_t *params, struct ipv4_req *r)
{
	static const char *const types[] = { "STATIC", "DHCP", "NONE" };
	const char *t = param_str(params, "type");

	for (int i = 0; i < 3; i++) {
		if (strcasecmp(t, types[i]) == 0) {
			snprintf(r->type, sizeof(r->type), "%s", types[i]);
			return 0;
		}
	}
	return API_ERR(api_invalid("Invalid --type '%s': must be one of dhcp, none, static", t));
}

/* --ipv4, --netmask, --gateway go with static only; --peer-dns with dhcp. */
static int check_combination(json_t *params, const struct ipv4_req *r)
{
	static const char *const opts[] = { "ipv4", "netmask", "gateway" };
	bool is_static = strcmp(r->type, "STATIC") == 0;

	for (int i = 0; i < 3 && !is_static; i++)
		if (param_has(params, opts[i]))
			return API_ERR(api_invalid("Invalid --%s '%s': only with --type static",
						   opts[i], param_str(params, opts[i])));
	if (param_has(params, "peer-dns") && strcmp(r->type, "DHCP") != 0)
		return API_ERR(api_invalid("Invalid --peer-dns: only with --type dhcp"));
	if (is_static && !r->ip)
		return API_ERR(api_invalid("Missing required parameter -I|--ipv4 (with --type "
					   "static)"));
	if (is_static && !r->mask)
		return API_ERR(api_invalid("Missing required parameter -N|--netmask (with --type "
					   "static)"));
	return 0;
}

static int check_static(struct ipv4_req *r)
{
	struct in_addr a, g;
	char owner[IFNAMSIZ], buf[128], stack[STACK_NAME_MAX + 1];
	const char *why;

	if (!ip4_parse(r->ip, &a))
		return API_ERR(api_invalid("Invalid --ipv4 '%s': not an IPv4 address", r->ip));
	if ((r->len = ip4_mask_len(r->mask)) < 0)
		return API_ERR(api_invalid("Invalid --netmask '%s': not a valid IPv4 netmask",
					   r->mask));
	if ((why = ip4_host_problem(a, r->len)))
		return API_ERR(api_invalid("Invalid --ipv4 '%s': %s", r->ip, why));
	if (r->gw && !ip4_parse(r->gw, &g))
		return API_ERR(api_invalid("Invalid --gateway '%s': not an IPv4 address", r->gw));
	if (r->gw && (why = ip4_gateway_problem(g, a, r->len, buf, sizeof(buf))))
		return API_ERR(api_invalid("Invalid --gateway '%s': %s", r->gw, why));
	store_text(stack, sizeof(stack), "SELECT name FROM netstack WHERE id = ?", "l", r->stack);
	if (vmknic_ipv4_owner(r->stack, r->ip, r->id, owner, sizeof(owner)))
		return API_ERR(api_invalid("Invalid --ipv4 '%s': already the IPv4 address of %s on "
					   "netstack %s", r->ip, owner, stack));
	return 0;
}

static void log_ipv4(const struct ipv4_req *r)
{
	if (strcmp(r->type, "STATIC") == 0)
		vmklog("Vmknic", "%s IPv4 set to static %s netmask %s%s%s", r->name, r->ip, r->mask,
		       r->gw ? " gateway " : "", r->gw ? r->gw : "");
	else
		vmklog("Vmknic", "%s IPv4 set to %s", r->name,
		       strcmp(r->type, "DHCP") == 0 ? "DHCP" : "none");
}

static json_t *ipv4_set(json_t *params)
{
	struct ipv4_req r = { .name = param_str(params, "interface-name"),
			      .ip = param_str(params, "ipv4"), .mask = param_str(params, "netmask"),
			      .gw = param_str(params, "gateway") };

	r.id = vmknic_id(r.name);
	r.stack = store_int(0, "SELECT netstack FROM vmknic WHERE id = ?", "l", r.id);
	if (!r.id)
		return err_no_vmknic(r.name);
	if (ipv4_type(params, &r) || check_combination(params, &r))
		return NULL;
	bool is_static = strcmp(r.type, "STATIC") == 0;
	if (is_static && check_static(&r))
		return NULL;
	if (store_exec("UPDATE vmknic SET ipv4_type = ?, ipv4_address = ?, ipv4_netmask = ?, "
		       "ipv4_gateway = ?, ipv4_peer_dns = ? WHERE id = ?", "ssssdl", r.type,
		       is_static ? r.ip : "", is_static ? r.mask : "", r.gw ? r.gw : "",
		       (int)param_bool(params, "peer-dns", false), r.id))
		return api_store_error();
	if (vmknic_apply(r.name))
		return NULL;
	log_ipv4(&r);
	return json_true();
}

/* ---- ipv6 get, set ---- */

static json_t *ipv6_get(json_t *params)
{
	if (check_filter(params))
		return NULL;
	sqlite3_stmt *st = filtered(params, "k.name, k.ipv6_dhcp, k.ipv6_ra, k.ipv6_peer_dns");
	if (!st)
		return api_store_error();
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, json_pack(
			"{s:s, s:b, s:b, s:b}", "Name", store_col_text(st, 0),
			"DHCPv6Enabled", sqlite3_column_int(st, 1),
			"RouterAdvEnabled", sqlite3_column_int(st, 2),
			"DHCPDNS", sqlite3_column_int(st, 3)));
	sqlite3_finalize(st);
	return list;
}

static int set_flag(json_t *params, const char *opt, const char *column, long long id,
		    const char *name)
{
	char sql[128];

	if (!param_has(params, opt))
		return 0;
	bool v = param_bool(params, opt, false);
	snprintf(sql, sizeof(sql), "UPDATE vmknic SET %s = ? WHERE id = ?", column);
	if (store_exec(sql, "dl", (int)v, id))
		return API_ERR(api_store_error());
	vmklog("Vmknic", "%s IPv6 %s set to %s", name, opt, v ? "true" : "false");
	return 0;
}

static json_t *ipv6_set(json_t *params)
{
	const char *name = param_str(params, "interface-name");
	long long id = vmknic_id(name);

	if (!id)
		return err_no_vmknic(name);
	if (!param_has(params, "enable-dhcpv6") && !param_has(params, "enable-router-adv") &&
	    !param_has(params, "peer-dns"))
		return api_invalid("Nothing to set: give -d|--enable-dhcpv6, -r|--enable-router-adv "
				   "or -P|--peer-dns");
	if (set_flag(params, "enable-dhcpv6", "ipv6_dhcp", id, name) ||
	    set_flag(params, "enable-router-adv", "ipv6_ra", id, name) ||
	    set_flag(params, "peer-dns", "ipv6_peer_dns", id, name) || vmknic_apply(name))
		return NULL;
	return json_true();
}

/* ---- ipv6 address ---- */

static json_t *ipv6_address_list(json_t *params)
{
	if (check_filter(params))
		return NULL;
	sqlite3_stmt *st = store_stmt(
		"SELECT k.name, a.address, a.prefix FROM vmknic_ipv6 a JOIN vmknic k ON "
		"a.vmknic = k.id WHERE ?1 IS NULL OR k.name = ?1 "
		"ORDER BY CAST(substr(k.name, 4) AS INTEGER), a.id", "s",
		param_str(params, "interface-name"));
	if (!st)
		return api_store_error();
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, json_pack(
			"{s:s, s:s, s:I, s:s, s:s}", "Interface", store_col_text(st, 0),
			"Address", store_col_text(st, 1),
			"Netmask", (json_int_t)sqlite3_column_int64(st, 2),
			"Type", "STATIC", "Status", "PREFERRED"));
	sqlite3_finalize(st);
	return list;
}

/* The adapter and the address of an ipv6 address command. */
static int ipv6_target(json_t *params, long long *id, char *text, int *len)
{
	const char *name = param_str(params, "interface-name"), *v6 = param_str(params, "ipv6");
	struct in6_addr a;

	if (!(*id = vmknic_id(name)))
		return API_ERR(err_no_vmknic(name));
	if (!ip6_parse_prefix(v6, &a, len, text))
		return API_ERR(api_invalid("Invalid --ipv6 '%s': not an IPv6 address with its "
					   "prefix length (X:X::X/len)", v6));
	if (!ip6_is_host(&a))
		return API_ERR(api_invalid("Invalid --ipv6 '%s': not a unicast address an "
					   "interface may have (link-local addresses are the "
					   "kernel's)", v6));
	return 0;
}

static int check_new_ipv6(const char *v6, long long id, const char *text)
{
	char owner[IFNAMSIZ], stack[STACK_NAME_MAX + 1];

	store_text(stack, sizeof(stack), "SELECT n.name FROM vmknic k JOIN netstack n ON "
		   "k.netstack = n.id WHERE k.id = ?", "l", id);
	if (!netstack_ipv6_enabled(stack))
		return API_ERR(api_refused("Cannot add --ipv6 '%s': IPv6 is disabled on netstack %s",
					   v6, stack));
	if (store_text(owner, sizeof(owner), "SELECT k.name FROM vmknic_ipv6 a JOIN vmknic k ON "
		       "a.vmknic = k.id WHERE a.address = ? AND k.netstack = (SELECT netstack "
		       "FROM vmknic WHERE id = ?)", "sl", text, id))
		return API_ERR(api_invalid("Invalid --ipv6 '%s': already an address of %s on "
					   "netstack %s", v6, owner, stack));
	if (store_int(0, "SELECT count(*) FROM vmknic_ipv6 WHERE vmknic = ?", "l", id) >=
	    VMKNIC_IPV6_MAX)
		return API_ERR(api_refused("Cannot add --ipv6 '%s': an interface has at most %d "
					   "static IPv6 addresses", v6, VMKNIC_IPV6_MAX));
	return 0;
}

static json_t *ipv6_address_add(json_t *params)
{
	const char *name = param_str(params, "interface-name"), *v6 = param_str(params, "ipv6");
	char text[INET6_ADDRSTRLEN];
	long long id;
	int len;

	if (ipv6_target(params, &id, text, &len) || check_new_ipv6(v6, id, text))
		return NULL;
	if (store_exec("INSERT INTO vmknic_ipv6(vmknic, address, prefix) VALUES (?, ?, ?)", "lsd",
		       id, text, len))
		return api_store_error();
	if (vmknic_apply(name))
		return NULL;
	vmklog("Vmknic", "%s IPv6 address %s/%d added", name, text, len);
	return json_true();
}

static json_t *ipv6_address_remove(json_t *params)
{
	const char *name = param_str(params, "interface-name"), *v6 = param_str(params, "ipv6");
	char text[INET6_ADDRSTRLEN];
	long long id;
	int len;

	if (ipv6_target(params, &id, text, &len))
		return NULL;
	if (!store_int(0, "SELECT count(*) FROM vmknic_ipv6 WHERE vmknic = ? AND address = ? AND "
		       "prefix = ?", "lsd", id, text, len))
		return api_invalid("Invalid --ipv6 '%s': not an address of %s", v6, name);
	if (store_exec("DELETE FROM vmknic_ipv6 WHERE vmknic = ? AND address = ?", "ls", id, text))
		return api_store_error();
	if (vmknic_apply(name))
		return NULL;
	vmklog("Vmknic", "%s IPv6 address %s/%d removed", name, text, len);
	return json_true();
}

static const struct api_method methods[] = {
	{ "network.ip.interface.ipv4.get", ipv4_get },
	{ "network.ip.interface.ipv4.set", ipv4_set },
	{ "network.ip.interface.ipv6.get", ipv6_get },
	{ "network.ip.interface.ipv6.set", ipv6_set },
	{ "network.ip.interface.ipv6.address.list", ipv6_address_list },
	{ "network.ip.interface.ipv6.address.add", ipv6_address_add },
	{ "network.ip.interface.ipv6.address.remove", ipv6_address_remove },
	{ 0 }
};

void vmknic_ip_register(void)
{
	api_register(methods);
}
