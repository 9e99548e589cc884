/*
 * Standard vSwitches: `esxcli network vswitch standard list|add|remove|
 * set` and `... uplink add|remove`.
 *
 * Rules (the reference's where it states them, ours where it does not;
 * docs/esxcli.md lists which):
 *   - at most 127 vSwitches; a name has 1-32 letters, digits, '.', '_'
 *     or '-' and is unique;
 *   - 8-4096 ports (default 128); every uplink and every VMkernel adapter
 *     on one of its port groups uses one;
 *   - MTU 1280-9000 (default 1500); CDP status down|listen|advertise|both;
 *   - removing a vSwitch removes its port groups and uplinks, and fails
 *     while one of its port groups has an adapter on it;
 *   - an uplink is a NIC present in vmkd's namespace (nic.c) that is not
 *     an uplink of any vSwitch yet; it joins the vSwitch's active list.
 *
 * List output: "Num Ports" is the configured number of ports, "Used
 * Ports" counts uplinks and adapters, port groups are listed newest
 * first, uplinks in the order they were added.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "model.h"
#include "store.h"
#include "vmklog.h"

#define VSWITCHES_MAX 127
#define VSWITCH_NAME_MAX 32

long long vswitch_id(const char *name)
{
	return store_int(0, "SELECT id FROM vswitch WHERE name = ?", "s", name);
}

json_t *err_no_vswitch(const char *name)
{
	return api_invalid("Invalid --vswitch-name '%s': no such virtual switch", name);
}

/* The first column of every row of sql (one id bound) as a JSON array. */
static json_t *name_list(const char *sql, long long id)
{
	sqlite3_stmt *st = store_stmt(sql, "l", id);
	json_t *a = json_array();

	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_string(store_col_text(st, 0)));
	sqlite3_finalize(st);
	return a;
}

static long long used_ports(long long id)
{
	return store_int(0, "SELECT (SELECT count(*) FROM uplink WHERE vswitch = ?1) + "
			 "(SELECT count(*) FROM vmknic k JOIN portgroup p ON k.portgroup = p.id "
			 "WHERE p.vswitch = ?1)", "l", id);
}

static json_t *beacon_users(long long id)
{
	return name_list("SELECT name FROM vswitch WHERE id = ?1 AND team_detect = 'beacon' "
			 "UNION ALL SELECT p.name FROM portgroup p JOIN vswitch v ON "
			 "p.vswitch = v.id WHERE v.id = ?1 AND "
			 "COALESCE(p.team_detect, v.team_detect) = 'beacon'", id);
}

/* Row: id, name, ports, mtu, cdp. */
static json_t *vswitch_json(sqlite3_stmt *st)
{
	long long id = sqlite3_column_int64(st, 0), ports = sqlite3_column_int64(st, 2);
	json_t *beacon = beacon_users(id);

	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:b, s:i, s:i, s:o, s:o, s:o}",
			 "Name", store_col_text(st, 1), "Class", "cswitch",
			 "NumPorts", (json_int_t)ports, "UsedPorts", (json_int_t)used_ports(id),
			 "ConfiguredPorts", (json_int_t)ports,
			 "MTU", (json_int_t)sqlite3_column_int64(st, 3),
			 "CDPStatus", store_col_text(st, 4),
			 "BeaconEnabled", json_array_size(beacon) > 0,
			 "BeaconInterval", 1, "BeaconThreshold", 3, "BeaconRequiredBy", beacon,
			 "Uplinks", name_list("SELECT nic FROM uplink WHERE vswitch = ? ORDER BY id",
					      id),
			 "Portgroups", name_list("SELECT name FROM portgroup WHERE vswitch = ? "
						 "ORDER BY id DESC", id));
}

static json_t *vswitch_list(json_t *params)
{
	const char *name = param_str(params, "vswitch-name");

	if (name && !vswitch_id(name))
		return err_no_vswitch(name);
	sqlite3_stmt *st = store_stmt("SELECT id, name, ports, mtu, cdp FROM vswitch "
				      "WHERE ?1 IS NULL OR name = ?1 ORDER BY id", "s", name);
	if (!st)
		return api_store_error();
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, vswitch_json(st));
	sqlite3_finalize(st);
	return list;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= VSWITCH_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static json_t *vswitch_add(json_t *params)
{
	const char *name = param_str(params, "vswitch-name");
	long long ports = param_int(params, "ports", 128);

	if (!name_ok(name))
		return api_invalid("Invalid --vswitch-name '%s': a virtual switch name has 1 to %d "
				   "letters, digits, '.', '_' or '-'", name, VSWITCH_NAME_MAX);
	if (vswitch_id(name))
		return api_invalid("Invalid --vswitch-name '%s': a virtual switch with this name "
				   "already exists", name);
	if (store_int(0, "SELECT count(*) FROM vswitch", "") >= VSWITCHES_MAX)
		return api_refused("Cannot add virtual switch '%s': the host already has %d "
				   "virtual switches", name, VSWITCHES_MAX);
	if (store_exec("INSERT INTO vswitch(name, ports) VALUES (?, ?)", "sl", name, ports))
		return api_store_error();
	vmklog("Net", "vSwitch %s added with %lld ports", name, ports);
	return json_true();
}

static json_t *vswitch_remove(json_t *params)
{
	const char *name = param_str(params, "vswitch-name");
	long long id = vswitch_id(name);
	char pg[256], vmk[64];

	if (!id)
		return err_no_vswitch(name);
	if (store_text(pg, sizeof(pg), "SELECT p.name FROM vmknic k JOIN portgroup p ON "
		       "k.portgroup = p.id WHERE p.vswitch = ? ORDER BY k.id", "l", id)) {
		store_text(vmk, sizeof(vmk), "SELECT k.name FROM vmknic k JOIN portgroup p ON "
			   "k.portgroup = p.id WHERE p.name = ? ORDER BY k.id", "s", pg);
		return api_refused("Cannot remove virtual switch '%s': its port group '%s' is in "
				   "use by %s", name, pg, vmk);
	}
	if (store_exec("DELETE FROM vswitch WHERE id = ?", "l", id))
		return api_store_error();
	vmklog("Net", "vSwitch %s removed with its port groups and uplinks", name);
	return json_true();
}

static json_t *vswitch_set(json_t *params)
{
	const char *name = param_str(params, "vswitch-name"), *cdp = param_str(params, "cdp-status");
	long long id = vswitch_id(name), mtu = param_int(params, "mtu", 0);
	static const char *cdps[] = { "down", "listen", "advertise", "both" };
	bool cdp_ok = false;

	if (!id)
		return err_no_vswitch(name);
	for (size_t i = 0; cdp && i < 4; i++)
		cdp_ok |= strcmp(cdp, cdps[i]) == 0;
	if (cdp && !cdp_ok)
		return api_invalid("Invalid --cdp-status '%s': must be one of down, listen, "
				   "advertise, both", cdp);
	if (mtu && store_exec("UPDATE vswitch SET mtu = ? WHERE id = ?", "ll", mtu, id))
		return api_store_error();
	if (cdp && store_exec("UPDATE vswitch SET cdp = ? WHERE id = ?", "sl", cdp, id))
		return api_store_error();
	if (mtu)
		vmklog("Net", "vSwitch %s MTU set to %lld", name, mtu);
	if (cdp)
		vmklog("Net", "vSwitch %s CDP status set to %s", name, cdp);
	return json_true();
}

static json_t *uplink_add(json_t *params)
{
	const char *nic = param_str(params, "uplink-name"), *name = param_str(params, "vswitch-name");
	long long id = vswitch_id(name);
	char owner[64];

	if (!id)
		return err_no_vswitch(name);
	if (store_text(owner, sizeof(owner), "SELECT v.name FROM uplink u JOIN vswitch v ON "
		       "u.vswitch = v.id WHERE u.nic = ?", "s", nic))
		return api_invalid("Invalid --uplink-name '%s': it is already an uplink of %s", nic,
				   owner);
	if (!nic_present(nic))
		return api_invalid("Invalid --uplink-name '%s': no such NIC (see esxcli network "
				   "nic list)", nic);
	long long ports = store_int(0, "SELECT ports FROM vswitch WHERE id = ?", "l", id);
	if (used_ports(id) >= ports)
		return api_refused("Cannot add uplink '%s': all %lld ports of virtual switch '%s' "
				   "are in use", nic, ports, name);
	if (store_exec("INSERT INTO uplink(nic, vswitch) VALUES (?, ?)", "sl", nic, id) ||
	    policy_uplink_added(id, nic))
		return api_store_error();
	vmklog("Uplink", "%s added to vSwitch %s", nic, name);
	return json_true();
}

static json_t *uplink_remove(json_t *params)
{
	const char *nic = param_str(params, "uplink-name"), *name = param_str(params, "vswitch-name");
	long long id = vswitch_id(name);

	if (!id)
		return err_no_vswitch(name);
	if (!store_int(0, "SELECT count(*) FROM uplink WHERE nic = ? AND vswitch = ?", "sl", nic,
		       id))
		return api_invalid("Invalid --uplink-name '%s': not an uplink of %s", nic, name);
	if (store_exec("DELETE FROM uplink WHERE nic = ?", "s", nic) ||
	    policy_uplink_removed(id, nic))
		return api_store_error();
	vmklog("Uplink", "%s removed from vSwitch %s", nic, name);
	return json_true();
}

static const struct api_method methods[] = {
	{ "network.vswitch.standard.list", vswitch_list },
	{ "network.vswitch.standard.add", vswitch_add },
	{ "network.vswitch.standard.remove", vswitch_remove },
	{ "network.vswitch.standard.set", vswitch_set },
	{ "network.vswitch.standard.uplink.add", uplink_add },
	{ "network.vswitch.standard.uplink.remove", uplink_remove },
	{ 0 }
};

void vswitch_register(void)
{
	api_register(methods);
}
