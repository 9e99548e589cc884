/*
 * `esxcli network vm list` and `network vm port list`, and vmk's own
 * network.vm.port.add/remove for front ends that vmkd did not start
 * (QEMU with a vhost-user netdev in server mode, docs/vms.md).
 *
 * An external port is kept in the store (table vm_port: name, port
 * group, socket, MAC), so that a restarted vmkd connects to it again;
 * its MAC must be unique among VMkernel adapters, external ports and the
 * NICs of powered-on VMs.  Port names are those of the switch's ports
 * ([A-Za-z0-9_.-], at most 31 bytes); "vm<N>.ethM" is reserved for the
 * NICs of VM N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "macaddr.h"
#include "store.h"
#include "switching_vm.h"
#include "vm.h"
#include "vmklog.h"
#include "vmmac.h"

/* ---- network vm list / port list ---- */

struct count {
	long long vmid;
	unsigned n;
	json_t *networks;
};

static void count_port(const struct sw_vm_port_info *p, void *arg)
{
	struct count *c = arg;

	if (p->vmid != c->vmid)
		return;
	c->n++;
	size_t i;
	json_t *v;
	json_array_foreach(c->networks, i, v)
		if (strcmp(json_string_value(v), p->portgroup) == 0)
			return;
	json_array_append_new(c->networks, json_string(p->portgroup));
}

static void vm_line(struct vm_live *v, void *arg)
{
	struct count c = { v->vmid, 0, json_array() };

	switching_vm_ports_each(count_port, &c);
	json_array_append_new(arg, json_pack("{s:I, s:s, s:i, s:o}", "WorldID",
					     (json_int_t)v->world_id, "Name", v->name,
					     "NumPorts", (int)c.n, "Networks", c.networks));
}

static json_t *vm_list(json_t *params)
{
	json_t *out = json_array();

	(void)params;
	vm_live_each(vm_line, out);
	return out;
}

struct ports {
	long long vmid;
	json_t *out;
};

static void port_line(const struct sw_vm_port_info *p, void *arg)
{
	struct ports *ps = arg;
	char mac[18];

	if (p->vmid != ps->vmid)
		return;
	vmx_mac_format(p->mac, mac);
	json_array_append_new(ps->out, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
		"PortID", (json_int_t)p->port_id, "vSwitch", p->vswitch, "Portgroup", p->portgroup,
		"DVPortID", "", "MACAddress", mac, "IPAddress", "0.0.0.0", "TeamUplink", p->uplink,
		"UplinkPortID", (json_int_t)0, "ActiveFilters", ""));
}

static json_t *port_list(json_t *params)
{
	long long world = param_int(params, "world-id", -1);
	struct vm_live *v = vm_live_by_world(world);
	struct ports ps = { 0, NULL };

	if (!v)
		return api_invalid("Invalid --world-id '%lld': no running VM has that world ID",
				   world);
	ps.vmid = v->vmid;
	ps.out = json_array();
	switching_vm_ports_each(port_line, &ps);
	return ps.out;
}

/* ---- external front ends ---- */

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	long long a;
	unsigned b;
	char rest;

	if (n == 0 || n >= SW_VM_PORT_NAME_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
		return false;
	return sscanf(s, "vm%lld.eth%u%c", &a, &b, &rest) != 2;	/* reserved for VMs */
}

static json_t *port_add(json_t *params)
{
	const char *name = param_str(params, "name"), *pg = param_str(params, "portgroup");
	const char *sock = param_str(params, "socket"), *mac = param_str(params, "mac");
	char norm[MAC_STR_LEN], err[256];
	uint8_t m[6];

	if (!name_ok(name))
		return api_invalid("Invalid name '%s': 1 to %d letters, digits, '_', '.' or '-' "
				   "(vmN.ethM is reserved)", name ? name : "",
				   SW_VM_PORT_NAME_MAX - 1);
	if (!pg || store_int(0, "SELECT count(*) FROM portgroup WHERE name = ?", "s", pg) == 0)
		return api_invalid("Invalid portgroup '%s': no such port group", pg ? pg : "");
	if (!sock || sock[0] != '/' || strlen(sock) >= VM_SOCK_MAX)
		return api_invalid("Invalid socket '%s': an absolute path of at most %zu bytes",
				   sock ? sock : "", VM_SOCK_MAX - 1);
	if (!mac || !macaddr_normalize(mac, norm) || vmx_mac_parse(norm, m) < 0 ||
	    !vmx_mac_is_unicast(m))
		return api_invalid("Invalid mac '%s': a unicast MAC address", mac ? mac : "");
	if (store_int(0, "SELECT count(*) FROM vm_port WHERE name = ?", "s", name))
		return api_invalid("Invalid name '%s': the port already exists", name);
	if (store_int(0, "SELECT (SELECT count(*) FROM vm_port WHERE lower(mac) = ?) + "
		      "(SELECT count(*) FROM vmknic WHERE lower(mac) = ?)", "ss", norm, norm))
		return api_refused("MAC address %s is already in use on this host", norm);
	if (store_exec("INSERT INTO vm_port(name, portgroup, socket, mac) VALUES (?, "
		       "(SELECT id FROM portgroup WHERE name = ?), ?, ?)", "ssss", name, pg, sock,
		       norm) < 0)
		return api_store_error();
	if (switching_attach_vm_port(name, 0, pg, sock, m, err, sizeof(err)) < 0)
		return api_refused("Cannot add VM port %s: %s", name, err);
	vmklog("Net", "VM port %s added on port group '%s': front end %s, MAC %s", name, pg, sock,
	       norm);
	return json_true();
}

static json_t *port_remove(json_t *params)
{
	const char *name = param_str(params, "name");

	if (!name || store_int(0, "SELECT count(*) FROM vm_port WHERE name = ?", "s", name) == 0)
		return api_invalid("Invalid name '%s': no such VM port", name ? name : "");
	if (store_exec("DELETE FROM vm_port WHERE name = ?", "s", name) < 0)
		return api_store_error();
	switching_detach_vm_port(name);
	vmklog("Net", "VM port %s removed", name);
	return json_true();
}

/* At start: every external port of the store. */
void netvm_attach_external(void)
{
	sqlite3_stmt *st = store_stmt("SELECT v.name, p.name, v.socket, v.mac FROM vm_port v "
				      "JOIN portgroup p ON p.id = v.portgroup ORDER BY v.id", "");
	char err[256];
	uint8_t m[6];

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = store_col_text(st, 0);
		snprintf(err, sizeof(err), "bad MAC address in the store");
		if (vmx_mac_parse(store_col_text(st, 3), m) < 0 ||
		    switching_attach_vm_port(name, 0, store_col_text(st, 1), store_col_text(st, 2), m,
					     err, sizeof(err)) < 0)
			vmklog_warn("Net", "VM port %s not connected: %s", name, err);
	}
	sqlite3_finalize(st);
}

void netvm_register(void)
{
	static const struct api_method methods[] = {
		{ "network.vm.list", vm_list },
		{ "network.vm.port.list", port_list },
		{ "network.vm.port.add", port_add },
		{ "network.vm.port.remove", port_remove },
		{ 0 }
	};
	api_register_raw(methods);
}
