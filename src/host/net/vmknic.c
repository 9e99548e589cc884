/*
 * VMkernel network interfaces (vmknics): `esxcli network ip interface
 * list|get|add|remove|set`.
 *
 * An adapter vmkN (N 0-9999) sits on a port group of a standard vSwitch
 * (it uses one of the vSwitch's ports) and in one TCP/IP stack, fixed at
 * creation as in the reference.  Its MAC is given or generated in
 * VMware's 00:50:56 (macaddr.c), unique on the host; MTU 1280-9000,
 * default 1500.  `add` also takes the one-line form of the product's
 * description, `-M 192.168.1.11 -N 255.255.255.0 -g 192.168.1.1`: an
 * --mac-address that is an IPv4 address is the static address, a
 * --netstack that is a netmask is its netmask (the stack is then
 * defaultTcpipStack), --gateway the adapter's gateway.  The stacks
 * vmotion and vSphereProvisioning come into being with their first
 * adapter; an adapter joining one of them gets that stack's tag.
 *
 * Each handler validates, writes the store, then makes the kernel agree
 * (vmknic_rt.c); a kernel failure fails the request and the store rolls
 * back.  `list` is sorted by adapter number; Port ID is the vSwitch's
 * portset number (its id + 1) in the top byte and the adapter's port
 * below, as in the reference's 33554443 (0x0200000b) for vmk0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ip.h"
#include "macaddr.h"
#include "model.h"
#include "store.h"
#include "vmklog.h"
#include "vmknic_rt.h"

#define VMKNIC_NUM_MAX 9999

long long vmknic_id(const char *name)
{
	return store_int(0, "SELECT id FROM vmknic WHERE name = ?", "s", name);
}

json_t *err_no_vmknic(const char *name)
{
	return api_invalid("Invalid --interface-name '%s': no such VMkernel network interface",
			   name);
}

/* ---- reading an adapter ---- */

static void load_ipv6(struct vmknic_cfg *c)
{
	sqlite3_stmt *st = store_stmt("SELECT address, prefix FROM vmknic_ipv6 WHERE vmknic = ? "
				      "ORDER BY id", "l", c->id);

	c->nipv6 = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW && c->nipv6 < VMKNIC_IPV6_MAX) {
		struct nl_prefix *p = &c->ipv6[c->nipv6];
		if (nl_prefix_parse(store_col_text(st, 0), p) == 0) {
			p->len = (uint8_t)sqlite3_column_int(st, 1);
			c->nipv6++;
		}
	}
	sqlite3_finalize(st);
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int i)
{
	snprintf(dst, len, "%s", store_col_text(st, i));
}

int vmknic_load(const char *name, struct vmknic_cfg *c)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT k.id, k.name, p.name, n.name, k.mac, k.mtu, k.enabled, k.ipv4_type, "
		"k.ipv4_address, k.ipv4_netmask, k.ipv4_gateway, k.ipv4_peer_dns, k.ipv6_dhcp, "
		"k.ipv6_ra, k.ipv6_peer_dns FROM vmknic k JOIN portgroup p ON k.portgroup = p.id "
		"JOIN netstack n ON k.netstack = n.id WHERE k.name = ?", "s", name);

	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(c, 0, sizeof(*c));
		c->id = sqlite3_column_int64(st, 0);
		copy_col(c->name, sizeof(c->name), st, 1);
		copy_col(c->portgroup, sizeof(c->portgroup), st, 2);
		copy_col(c->netstack, sizeof(c->netstack), st, 3);
		copy_col(c->mac, sizeof(c->mac), st, 4);
		c->mtu = sqlite3_column_int(st, 5);
		c->enabled = sqlite3_column_int(st, 6);
		copy_col(c->ipv4_type, sizeof(c->ipv4_type), st, 7);
		copy_col(c->ipv4_address, sizeof(c->ipv4_address), st, 8);
		copy_col(c->ipv4_netmask, sizeof(c->ipv4_netmask), st, 9);
		copy_col(c->ipv4_gateway, sizeof(c->ipv4_gateway), st, 10);
		c->ipv4_peer_dns = sqlite3_column_int(st, 11);
		c->ipv6_dhcp = sqlite3_column_int(st, 12);
		c->ipv6_ra = sqlite3_column_int(st, 13);
		c->ipv6_peer_dns = sqlite3_column_int(st, 14);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		load_ipv6(c);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int vmknic_apply(const char *name)
{
	struct vmknic_cfg c;
	char err[512];

	if (vmknic_load(name, &c) <= 0)
		return API_ERR(api_store_error());
	if (vmknic_rt_apply(&c, err, sizeof(err)) < 0)
		return API_ERR(api_refused("Cannot configure %s: %s", name, err));
	routes_sync(c.netstack);
	return 0;
}

/* ---- list, get ---- */

#define ROW_SQL \
	"SELECT k.name, k.mac, k.enabled, v.name, p.name, n.name, k.mtu, v.id, k.id, " \
	"k.ipv4_type, k.ipv4_address, k.ipv4_netmask, k.ipv4_gateway, k.tags " \
	"FROM vmknic k JOIN portgroup p ON k.portgroup = p.id " \
	"JOIN vswitch v ON p.vswitch = v.id JOIN netstack n ON k.netstack = n.id "

static json_t *row_json(sqlite3_stmt *st)
{
	long long port = (sqlite3_column_int64(st, 7) + 1) << 24 | (sqlite3_column_int64(st, 8) + 10);

	return json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, "
			 "s:I, s:i, s:i, s:I}",
			 "Name", store_col_text(st, 0), "MACAddress", store_col_text(st, 1),
			 "Enabled", sqlite3_column_int(st, 2), "Portset", store_col_text(st, 3),
			 "Portgroup", store_col_text(st, 4),
			 "NetstackInstance", store_col_text(st, 5), "VDSName", "N/A",
			 "VDSUUID", "N/A", "VDSPort", "N/A", "VDSConnection", -1,
			 "OpaqueNetworkID", "N/A", "OpaqueNetworkType", "N/A", "ExternalID", "N/A",
			 "MTU", (json_int_t)sqlite3_column_int64(st, 6), "TSOMSS", 65535,
			 "RXDispQueueSize", 1, "PortID", (json_int_t)port);
}

static json_t *vmknic_list(json_t *params)
{
	const char *stack = param_str(params, "netstack");

	if (stack && !netstack_id(stack))
		return err_no_netstack(stack);
	sqlite3_stmt *st = store_stmt(ROW_SQL "WHERE ?1 IS NULL OR n.name = ?1 "
				      "ORDER BY CAST(substr(k.name, 4) AS INTEGER)", "s", stack);
	if (!st)
		return api_store_error();
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, row_json(st));
	sqlite3_finalize(st);
	return list;
}

static json_t *split_list(const char *s)
{
	json_t *a = json_array();
	char *copy = strdup(s), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	free(copy);
	return a;
}

static json_t *ipv6_texts(long long id)
{
	sqlite3_stmt *st = store_stmt("SELECT address || '/' || prefix FROM vmknic_ipv6 "
				      "WHERE vmknic = ? ORDER BY id", "l", id);
	json_t *a = json_array();

	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_string(store_col_text(st, 0)));
	sqlite3_finalize(st);
	return a;
}

static json_t *vmknic_get(json_t *params)
{
	const char *name = param_str(params, "interface-name");
	sqlite3_stmt *st = store_stmt(ROW_SQL "WHERE k.name = ?", "s", name);

	if (!st)
		return api_store_error();
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return err_no_vmknic(name);
	}
	json_t *o = row_json(st);
	vmknic_ipv4_fields(o, name, store_col_text(st, 9), store_col_text(st, 10),
			   store_col_text(st, 11), store_col_text(st, 12));
	json_object_set_new(o, "IPv6Addresses", ipv6_texts(sqlite3_column_int64(st, 8)));
	json_object_set_new(o, "Tags", split_list(store_col_text(st, 13)));
	sqlite3_finalize(st);
	return o;
}

/* ---- add ---- */

struct add_req {
	char name[IFNAMSIZ];
	const char *portgroup, *netstack;
	long long pg;
	char mac[MAC_STR_LEN];
	bool has_ip;
	char ip[IP4_STRLEN], mask[IP4_STRLEN], gw[IP4_STRLEN];
	long long mtu;
};

static bool name_ok(const char *name)
{
	const char *d = name + 3;
	size_t n = strlen(name);

	return strncmp(name, "vmk", 3) == 0 && n > 3 && n <= 7 &&
	       strspn(d, "0123456789") == n - 3 && (d[0] != '0' || n == 4);
}

static int pick_name(json_t *params, struct add_req *r)
{
	const char *name = param_str(params, "interface-name");

	if (name && !name_ok(name))
		return API_ERR(api_invalid("Invalid --interface-name '%s': must be in the form vmkX, "
					   "where X is a number 0-%d", name, VMKNIC_NUM_MAX));
	if (name && vmknic_id(name))
		return API_ERR(api_invalid("Invalid --interface-name '%s': an interface with this "
					   "name already exists", name));
	if (name) {
		snprintf(r->name, sizeof(r->name), "%s", name);
		return 0;
	}
	for (int i = 0; i <= VMKNIC_NUM_MAX; i++) {
		snprintf(r->name, sizeof(r->name), "vmk%d", i);
		if (!vmknic_id(r->name))
			return 0;
	}
	return API_ERR(api_refused("Cannot add an interface: vmk0 to vmk%d all exist",
				   VMKNIC_NUM_MAX));
}

static int generate_mac(struct add_req *r)
{
	return macaddr_generate_vmk(r->mac) < 0 ? API_ERR(api_store_error()) : 0;
}

/* --mac-address: a MAC, or (the one-line form) the IPv4 address. */
static int parse_mac(json_t *params, struct add_req *r)
{
	const char *m = param_str(params, "mac-address");
	struct in_addr a;
	char owner[IFNAMSIZ];

	if (m && ip4_parse(m, &a)) {
		r->has_ip = true;
		snprintf(r->ip, sizeof(r->ip), "%s", m);
	}
	if (!m || r->has_ip)
		return generate_mac(r);
	if (!macaddr_normalize(m, r->mac))
		return API_ERR(api_invalid("Invalid --mac-address '%s': not a MAC address "
					   "(xx:xx:xx:xx:xx:xx) or an IPv4 address", m));
	if ((strtoul(r->mac, NULL, 16) & 1) || strcmp(r->mac, "00:00:00:00:00:00") == 0)
		return API_ERR(api_invalid("Invalid --mac-address '%s': not a unicast MAC "
					   "address", m));
	if (store_text(owner, sizeof(owner), "SELECT name FROM vmknic WHERE mac = ?", "s", r->mac))
		return API_ERR(api_invalid("Invalid --mac-address '%s': already the MAC address "
					   "of %s", m, owner));
	return 0;
}

/* --netstack: the stack, or (the one-line form) the netmask. */
static int parse_netstack(json_t *params, struct add_req *r)
{
	const char *n = param_str(params, "netstack");
	struct in_addr dummy;

	r->netstack = n ? n : DEFAULT_STACK;
	if (n && ip4_parse(n, &dummy)) {
		r->netstack = DEFAULT_STACK;
		if (ip4_mask_len(n) < 0)
			return API_ERR(api_invalid("Invalid --netstack '%s': not a valid IPv4 "
						   "netmask", n));
		if (!r->has_ip)
			return API_ERR(api_invalid("Invalid --netstack '%s': a netmask needs an IPv4 "
						   "address given as --mac-address", n));
		snprintf(r->mask, sizeof(r->mask), "%s", n);
	}
	if (r->has_ip && !r->mask[0])
		return API_ERR(api_invalid("Invalid --mac-address '%s': an IPv4 address needs its "
					   "netmask as --netstack (e.g. -N 255.255.255.0)", r->ip));
	return 0;
}

static int check_ip(json_t *params, struct add_req *r)
{
	const char *gw = param_str(params, "gateway"), *why;
	struct in_addr a, g;
	char buf[128];

	if (gw && !r->has_ip)
		return API_ERR(api_invalid("Invalid --gateway '%s': a gateway needs an IPv4 address "
					   "given as --mac-address", gw));
	if (!r->has_ip)
		return 0;
	int len = ip4_mask_len(r->mask);
	ip4_parse(r->ip, &a);
	if ((why = ip4_host_problem(a, len)))
		return API_ERR(api_invalid("Invalid --mac-address '%s': %s", r->ip, why));
	if (gw && !ip4_parse(gw, &g))
		return API_ERR(api_invalid("Invalid --gateway '%s': not an IPv4 address", gw));
	if (gw && (why = ip4_gateway_problem(g, a, len, buf, sizeof(buf))))
		return API_ERR(api_invalid("Invalid --gateway '%s': %s", gw, why));
	snprintf(r->gw, sizeof(r->gw), "%s", gw ? gw : "");
	return 0;
}

/* The port group, and a free port on its vSwitch. */
static int check_port(struct add_req *r)
{
	char vs[64];

	if (!r->pg)
		return API_ERR(err_no_portgroup(r->portgroup));
	long long free_ports = store_int(0,
		"SELECT v.ports - (SELECT count(*) FROM uplink u WHERE u.vswitch = v.id) - "
		"(SELECT count(*) FROM vmknic k JOIN portgroup q ON k.portgroup = q.id "
		"WHERE q.vswitch = v.id) FROM portgroup p JOIN vswitch v ON p.vswitch = v.id "
		"WHERE p.id = ?", "l", r->pg);
	if (free_ports > 0)
		return 0;
	store_text(vs, sizeof(vs), "SELECT v.name FROM portgroup p JOIN vswitch v ON "
		   "p.vswitch = v.id WHERE p.id = ?", "l", r->pg);
	return API_ERR(api_refused("Cannot add %s: every port of virtual switch '%s' is in use",
				   r->name, vs));
}

bool vmknic_ipv4_owner(long long stack, const char *ip, long long self, char *owner,
		       size_t len)
{
	return store_text(owner, len, "SELECT name FROM vmknic WHERE netstack = ? AND "
			  "ipv4_type = 'STATIC' AND ipv4_address = ? AND id != ?", "lsl", stack,
			  ip, self);
}

static int parse_add(json_t *params, struct add_req *r)
{
	memset(r, 0, sizeof(*r));
	r->portgroup = param_str(params, "portgroup-name");
	r->pg = portgroup_id(r->portgroup);
	r->mtu = param_int(params, "mtu", 1500);
	if (pick_name(params, r) || check_port(r) || parse_mac(params, r) ||
	    parse_netstack(params, r) || check_ip(params, r))
		return -1;
	return 0;
}

static int insert(const struct add_req *r, long long stack)
{
	char owner[IFNAMSIZ];

	if (r->has_ip && vmknic_ipv4_owner(stack, r->ip, 0, owner, sizeof(owner)))
		return API_ERR(api_invalid("Invalid --mac-address '%s': already the IPv4 address "
					   "of %s on netstack %s", r->ip, owner, r->netstack));
	if (store_exec("INSERT INTO vmknic(name, portgroup, netstack, mac, mtu, ipv4_type, "
		       "ipv4_address, ipv4_netmask, ipv4_gateway) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
		       "?)", "sllslssss", r->name, r->pg, stack, r->mac, r->mtu,
		       r->has_ip ? "STATIC" : "NONE", r->ip, r->mask, r->gw) ||
	    tags_stack_joined(vmknic_id(r->name), r->netstack))
		return API_ERR(api_store_error());
	return 0;
}

/* Creates the TAP. */
static int realize_new(const struct add_req *r)
{
	struct vmknic_cfg c;
	char err[512];

	if (vmknic_load(r->name, &c) <= 0)
		return API_ERR(api_store_error());
	if (vmknic_rt_create(&c, err, sizeof(err)) < 0)
		return API_ERR(api_refused("Cannot add %s: %s", r->name, err));
	routes_sync(r->netstack);
	return 0;
}

static void log_add(const struct add_req *r)
{
	vmklog("Vmknic", "%s added on port group '%s', netstack %s, MAC %s, MTU %lld, IPv4 %s%s%s"
	       "%s%s", r->name, r->portgroup, r->netstack, r->mac, r->mtu,
	       r->has_ip ? r->ip : "none", r->has_ip ? " netmask " : "", r->mask,
	       r->gw[0] ? " gateway " : "", r->gw);
}

static json_t *vmknic_add(json_t *params)
{
	struct add_req r;
	bool created = false;
	char err[256];

	if (parse_add(params, &r))
		return NULL;
	long long stack = netstack_get_or_create(r.netstack, &created);
	if (!stack)
		return NULL;
	if (insert(&r, stack) || realize_new(&r)) {
		if (created)
			stackns_remove(r.netstack, err, sizeof(err));
		return NULL;
	}
	log_add(&r);
	return json_true();
}

/* ---- remove ---- */

/* The adapter --interface-name or --portgroup-name names, into name. */
static int removal_target(json_t *params, char *name, size_t len)
{
	const char *i = param_str(params, "interface-name");
	const char *pg = param_str(params, "portgroup-name");
	long long pgid = pg ? portgroup_id(pg) : 0;

	if (!i && !pg)
		return API_ERR(api_invalid("Missing required parameter -i|--interface-name (or "
					   "-p|--portgroup-name)"));
	if (i && !vmknic_id(i))
		return API_ERR(err_no_vmknic(i));
	if (pg && !pgid)
		return API_ERR(err_no_portgroup(pg));
	if (i && pg && store_int(0, "SELECT portgroup FROM vmknic WHERE name = ?", "s", i) != pgid)
		return API_ERR(api_invalid("Invalid --portgroup-name '%s': %s is not on it", pg, i));
	if (i) {
		snprintf(name, len, "%s", i);
		return 0;
	}
	long long n = store_int(0, "SELECT count(*) FROM vmknic WHERE portgroup = ?", "l", pgid);
	const char *why = n ? "several interfaces are on it" : "no interface is on it";
	if (n != 1)
		return API_ERR(api_invalid("Invalid --portgroup-name '%s': %s; name the interface "
					   "with --interface-name", pg, why));
	store_text(name, len, "SELECT name FROM vmknic WHERE portgroup = ?", "l", pgid);
	return 0;
}

static json_t *vmknic_remove(json_t *params)
{
	char name[IFNAMSIZ], stack[STACK_NAME_MAX + 1] = "";

	if (removal_target(params, name, sizeof(name)))
		return NULL;
	store_text(stack, sizeof(stack), "SELECT n.name FROM vmknic k JOIN netstack n ON "
		   "k.netstack = n.id WHERE k.name = ?", "s", name);
	if (store_exec("DELETE FROM vmknic WHERE name = ?", "s", name))
		return api_store_error();
	vmknic_rt_destroy(name);
	vmklog("Vmknic", "%s removed from netstack %s", name, stack);
	return json_true();
}

/* ---- set ---- */

static json_t *vmknic_set(json_t *params)
{
	const char *name = param_str(params, "interface-name");
	long long id = vmknic_id(name), mtu = param_int(params, "mtu", 0);
	bool has_en = param_has(params, "enabled"), en = param_bool(params, "enabled", true);

	if (!id)
		return err_no_vmknic(name);
	if (!mtu && !has_en)
		return api_invalid("Nothing to set: give -e|--enabled or -m|--mtu");
	if (mtu && store_exec("UPDATE vmknic SET mtu = ? WHERE id = ?", "ll", mtu, id))
		return api_store_error();
	if (has_en && store_exec("UPDATE vmknic SET enabled = ? WHERE id = ?", "dl", en, id))
		return api_store_error();
	if (vmknic_apply(name))
		return NULL;
	if (mtu)
		vmklog("Vmknic", "%s MTU set to %lld", name, mtu);
	if (has_en)
		vmklog("Vmknic", "%s %s", name, en ? "enabled" : "disabled");
	return json_true();
}

static const struct api_method methods[] = {
	{ "network.ip.interface.list", vmknic_list },
	{ "network.ip.interface.get", vmknic_get },
	{ "network.ip.interface.add", vmknic_add },
	{ "network.ip.interface.remove", vmknic_remove },
	{ "network.ip.interface.set", vmknic_set },
	{ 0 }
};

void vmknic_register(void)
{
	api_register(methods);
}
