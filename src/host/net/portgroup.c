/*
 * Port groups of standard vSwitches: `esxcli network vswitch standard
 * portgroup list|add|remove|set`.
 *
 * A port group name is unique on the host (the network label), 1-63
 * printable characters without leading or trailing blanks.  A new port
 * group has VLAN 0 and inherits every policy of its vSwitch (policy.c).
 * VLAN IDs: 0 none, 1-4094 tagged, 4095 all VLANs (the table checks the
 * range).  A port group with a VMkernel adapter on it cannot be removed;
 * "Active Clients" counts those adapters.  `remove` names the vSwitch,
 * and a port group of another vSwitch is refused.  The list is sorted by
 * name, byte-wise, as the reference's is.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "model.h"
#include "store.h"
#include "switching_vm.h"
#include "vmklog.h"

#define PORTGROUP_NAME_MAX 63

long long portgroup_id(const char *name)
{
	return store_int(0, "SELECT id FROM portgroup WHERE name = ?", "s", name);
}

json_t *err_no_portgroup(const char *name)
{
	return api_invalid("Invalid --portgroup-name '%s': no such port group", name);
}

static json_t *portgroup_list(json_t *params)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT p.name, v.name, (SELECT count(*) FROM vmknic k WHERE k.portgroup = p.id), "
		"p.vlan FROM portgroup p JOIN vswitch v ON p.vswitch = v.id ORDER BY p.name", "");
	json_t *list = json_array();

	(void)params;
	if (!st) {
		json_decref(list);
		return api_store_error();
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, json_pack(
			"{s:s, s:s, s:I, s:I}", "Name", store_col_text(st, 0),
			"VirtualSwitch", store_col_text(st, 1),
			"ActiveClients", (json_int_t)sqlite3_column_int64(st, 2),
			"VLANID", (json_int_t)sqlite3_column_int64(st, 3)));
	sqlite3_finalize(st);
	return list;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PORTGROUP_NAME_MAX || name[0] == ' ' || name[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

static json_t *portgroup_add(json_t *params)
{
	const char *name = param_str(params, "portgroup-name");
	const char *vs = param_str(params, "vswitch-name");
	long long vsid = vswitch_id(vs);
	char owner[64];

	if (!name_ok(name))
		return api_invalid("Invalid --portgroup-name '%s': a port group name has 1 to %d "
				   "printable characters and does not begin or end with a space",
				   name, PORTGROUP_NAME_MAX);
	if (!vsid)
		return err_no_vswitch(vs);
	if (store_text(owner, sizeof(owner), "SELECT v.name FROM portgroup p JOIN vswitch v ON "
		       "p.vswitch = v.id WHERE p.name = ?", "s", name))
		return api_invalid("Invalid --portgroup-name '%s': a port group with this name "
				   "already exists on %s", name, owner);
	if (store_exec("INSERT INTO portgroup(name, vswitch) VALUES (?, ?)", "sl", name, vsid))
		return api_store_error();
	vmklog("Net", "port group '%s' added to vSwitch %s", name, vs);
	return json_true();
}

struct pg_user {
	const char *portgroup;
	char port[SW_VM_PORT_NAME_MAX];
};

static void find_vm_port(const struct sw_vm_port_info *p, void *arg)
{
	struct pg_user *u = arg;

	if (!u->port[0] && strcmp(p->portgroup, u->portgroup) == 0)
		snprintf(u->port, sizeof(u->port), "%s", p->name);
}

/* The first VM port (a running VM's adapter, or an external front end)
 * on the port group, as a VMkernel adapter would be: into buf, or false. */
static bool vm_port_on(const char *portgroup, char *buf, size_t len)
{
	struct pg_user u = { .portgroup = portgroup };

	switching_vm_ports_each(find_vm_port, &u);
	snprintf(buf, len, "%s", u.port);
	return u.port[0] != '\0';
}

static json_t *portgroup_remove(json_t *params)
{
	const char *name = param_str(params, "portgroup-name");
	const char *vs = param_str(params, "vswitch-name");
	long long vsid = vswitch_id(vs), id = portgroup_id(name);
	char vmk[64];

	if (!vsid)
		return err_no_vswitch(vs);
	if (!id)
		return err_no_portgroup(name);
	if (store_int(0, "SELECT vswitch FROM portgroup WHERE id = ?", "l", id) != vsid)
		return api_invalid("Invalid --portgroup-name '%s': not a port group of %s", name,
				   vs);
	if (store_text(vmk, sizeof(vmk), "SELECT name FROM vmknic WHERE portgroup = ? "
		       "ORDER BY id", "l", id))
		return api_refused("Cannot remove port group '%s': it is in use by %s", name, vmk);
	if (vm_port_on(name, vmk, sizeof(vmk)))
		return api_refused("Cannot remove port group '%s': it is in use by VM port %s",
				   name, vmk);
	if (store_exec("DELETE FROM portgroup WHERE id = ?", "l", id))
		return api_store_error();
	vmklog("Net", "port group '%s' removed from vSwitch %s", name, vs);
	return json_true();
}

static json_t *portgroup_set(json_t *params)
{
	const char *name = param_str(params, "portgroup-name");
	long long id = portgroup_id(name), vlan = param_int(params, "vlan-id", 0);

	if (!id)
		return err_no_portgroup(name);
	if (store_exec("UPDATE portgroup SET vlan = ? WHERE id = ?", "ll", vlan, id))
		return api_store_error();
	vmklog("Net", "port group '%s' VLAN ID set to %lld", name, vlan);
	return json_true();
}

static const struct api_method methods[] = {
	{ "network.vswitch.standard.portgroup.list", portgroup_list },
	{ "network.vswitch.standard.portgroup.add", portgroup_add },
	{ "network.vswitch.standard.portgroup.remove", portgroup_remove },
	{ "network.vswitch.standard.portgroup.set", portgroup_set },
	{ 0 }
};

void portgroup_register(void)
{
	api_register(methods);
}
