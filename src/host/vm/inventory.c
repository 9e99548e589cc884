/*
 * The inventory: registered VMs (table vm: vmid, .vmx path, datastore,
 * name).  vim-cmd's solo/registervm, vmsvc/unregister, getallvms and
 * get.summary.
 *
 * Registering checks the whole .vmx (vmx_vm_config_from: every key vmk
 * uses, disks and kernel present) so that a bad file is refused with its
 * file, line and key before it is in the inventory, and fills in what
 * the reference generates on registration (uuid.bios, generated MACs),
 * written back with vmxfile_save only once every check passed.  The file
 * must lie in a datastore.  vmids count up from 1 and are never reused
 * (AUTOINCREMENT), as the reference's grow.  List and summary show the
 * inventory's view (view.c): the .vmx as registervm, reload or power.on
 * last read it, so that a hand edit shows after vmsvc/reload, as on the
 * reference, and a file broken since keeps showing its last good values.
 *
 * reload goes through registration's checks (vmx_vm_config_from, what is
 * generated written back) and fails as power.on does, with a fault naming
 * the file, line and key, the view unchanged.  The inventory name follows
 * the file's displayName when that changed since the last read (a name
 * given to registervm is kept otherwise).  A running VM keeps running as
 * it was started: only the view changes; vmx reads the file at the next
 * power-on.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store.h"
#include "vm.h"
#include "vmklog.h"
#include "vmmac.h"

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* The .vmx of the request, resolved and inside a datastore; its
 * datastore id, or -1 after api_fail. */
static long long resolve(json_t *params, char *real)
{
	const char *path = param_str(params, "path");
	char ds[128], rel[PATH_MAX];

	if (!path || !path[0]) {
		api_invalid("Missing path: give the .vmx file to register");
		return -1;
	}
	if (has_control(path)) {
		api_invalid("Invalid path: it holds a control character");
		return -1;
	}
	if (!realpath(path, real)) {
		api_invalid("Invalid path '%s': %s", path, strerror(errno));
		return -1;
	}
	size_t n = strlen(real);
	if (n < 5 || strcmp(real + n - 4, ".vmx") != 0) {
		api_invalid("Invalid path '%s': not a .vmx file", path);
		return -1;
	}
	long long id = datastore_of(real, ds, sizeof(ds), rel, sizeof(rel));
	if (id < 0)
		api_invalid("Invalid path '%s': not inside a datastore (esxcli storage filesystem "
			    "list)", path);
	return id;
}

static void fail(const char *op, const char *err)
{
	if (op)
		api_refused("%s failed: %s", op, err);
	else
		api_invalid("%s", err);
}

/* Generates, checks, and writes back what was generated.  0 or -1
 * after api_fail: invalid params for a registration (op NULL), the
 * operation's fault otherwise ("Reload failed: ..."). */
static int prepare(const char *path, struct vmx_vm_config *c, const char *op)
{
	char err[1024], dir[PATH_MAX];
	struct vmxfile *f = vmxfile_load(path, err, sizeof(err));
	bool changed = false;
	int rc = -1;

	if (!f) {
		fail(op, err);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (vmx_vm_generate(f, &changed, err, sizeof(err)) < 0 ||
	    vmx_vm_config_from(f, dir, c, err, sizeof(err)) < 0)
		fail(op, err);
	else if (changed && vmxfile_save(f, path, err, sizeof(err)) < 0)
		api_refused("%s%sCannot write %s: %s", op ? op : "", op ? " failed: " : "", path,
			    err);
	else
		rc = 0;
	vmxfile_free(f);
	return rc;
}

static json_t *registervm(json_t *params)
{
	char real[PATH_MAX];
	const char *name = param_str(params, "name");
	struct vmx_vm_config *c = NULL;
	json_t *result = NULL;
	long long ds = resolve(params, real);

	if (ds < 0)
		return NULL;
	if (store_int(0, "SELECT count(*) FROM vm WHERE path = ?", "s", real))
		return api_invalid("The specified key, name, or identifier '%s' already exists.",
				   real);
	if (!(c = calloc(1, sizeof(*c))))
		return api_refused("Out of memory");
	if (!name || !name[0])
		name = NULL;
	if (name && strlen(name) >= VMX_NAME_MAX) {
		api_invalid("Invalid name: at most %d bytes", VMX_NAME_MAX - 1);
		goto out;
	}
	if (name && has_control(name)) {
		api_invalid("Invalid name: it holds a control character");
		goto out;
	}
	if (prepare(real, c, NULL) < 0)
		goto out;
	if (!name)
		name = c->display_name;
	if (store_int(0, "SELECT count(*) FROM vm WHERE name = ?", "s", name)) {
		api_invalid("The name '%s' already exists.", name);
		goto out;
	}
	if (store_exec("INSERT INTO vm(path, datastore, name) VALUES (?, ?, ?)", "sls", real, ds,
		       name) < 0) {
		api_store_error();
		goto out;
	}
	long long vmid = store_int(-1, "SELECT vmid FROM vm WHERE path = ?", "s", real);
	vm_view_set(vmid, c);
	vmklog("VMX", "VM %lld (%s) registered: %s", vmid, name, real);
	result = json_pack("{s:I}", "vmid", (json_int_t)vmid);
out:
	free(c);
	return result;
}

static json_t *unregister(json_t *params)
{
	long long vmid = vm_param_vmid(params);
	char name[VMX_NAME_MAX];

	if (vmid < 0 || !store_text(name, sizeof(name), "SELECT name FROM vm WHERE vmid = ?", "l",
				    vmid))
		return api_invalid("Unable to find a VM corresponding to \"%lld\"",
				   vmid < 0 ? 0 : vmid);
	if (vm_live_find(vmid))
		return api_refused("Unregister failed: (vim.fault.InvalidPowerState) The attempted "
				   "operation cannot be performed in the current state (Powered on).");
	if (store_exec("DELETE FROM vm WHERE vmid = ?", "l", vmid) < 0)
		return api_store_error();
	vm_view_drop(vmid);
	vmklog("VMX", "VM %lld (%s) unregistered", vmid, name);
	return json_true();
}

/* The row as getallvms shows it, from the inventory's view (a VM whose
 * file has never parsed in this vmkd shows what the store knows). */
static json_t *vm_entry(sqlite3_stmt *st, const struct vm_view **view)
{
	char file[PATH_MAX + 140], version[32] = "";
	const char *path = store_col_text(st, 1);
	long long vmid = sqlite3_column_int64(st, 0);
	const struct vm_view *w = vm_view_get(vmid, path);

	datastore_display_path(path, file, sizeof(file));
	if (w && w->hw_version)
		snprintf(version, sizeof(version), "vmx-%02u", w->hw_version);
	*view = w;
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "vmid", (json_int_t)vmid, "name",
			 store_col_text(st, 2), "file", file, "guest_os", w ? w->guest_os : "",
			 "version", version, "annotation", w ? w->annotation : "");
}

static json_t *getallvms(json_t *params)
{
	sqlite3_stmt *st = store_stmt("SELECT vmid, path, name FROM vm ORDER BY vmid", "");
	const struct vm_view *w;
	json_t *out = json_array();

	(void)params;
	if (!st) {
		json_decref(out);
		return api_store_error();
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(out, vm_entry(st, &w));
	sqlite3_finalize(st);
	return out;
}

static json_t *summary(json_t *params)
{
	long long vmid = vm_param_vmid(params);
	sqlite3_stmt *st = store_stmt("SELECT vmid, path, name FROM vm WHERE vmid = ?", "l", vmid);
	const struct vm_view *w;
	json_t *out = NULL;

	if (st && sqlite3_step(st) == SQLITE_ROW) {
		struct vm_live *v = vm_live_find(vmid);
		char uuid[VMX_UUID_STRLEN] = "";
		out = vm_entry(st, &w);
		if (w)
			vmx_uuid_format(w->uuid_bios, uuid);
		json_object_set_new(out, "vmx_path", json_string(store_col_text(st, 1)));
		json_object_set_new(out, "power_state", json_string(v ? "poweredOn" : "poweredOff"));
		json_object_set_new(out, "memory_mb", json_integer(w ? w->memsize_mb : 0));
		json_object_set_new(out, "num_cpu", json_integer(w ? w->numvcpus : 0));
		json_object_set_new(out, "num_ethernet", json_integer(w ? w->nr_nics : 0));
		json_object_set_new(out, "num_disks", json_integer(w ? w->nr_disks : 0));
		json_object_set_new(out, "uuid", json_string(uuid));
		json_object_set_new(out, "pid", json_integer(v ? v->pid : 0));
		json_object_set_new(out, "world_id", json_integer(v ? v->world_id : 0));
	} else if (st) {
		api_invalid("Unable to find a VM corresponding to \"%lld\"", vmid < 0 ? 0 : vmid);
	} else {
		api_store_error();
	}
	sqlite3_finalize(st);
	return out;
}

/* The name reload gives the VM: the new displayName if it changed since
 * the last read, else the current one.  false after api_fail. */
static bool reload_name(long long vmid, const char *path, const struct vmx_vm_config *c,
			char *name, size_t len)
{
	/* the displayName last read; after a vmkd restart with nothing read
	 * yet, the inventory name stands for it (not the file: it is the
	 * edited one) */
	const struct vm_view *old = vm_view_find(vmid);

	(void)path;
	if (!store_text(name, len, "SELECT name FROM vm WHERE vmid = ?", "l", vmid)) {
		api_store_error();
		return false;
	}
	if (strcmp(old ? old->display_name : name, c->display_name) == 0)
		return true;
	if (store_int(0, "SELECT count(*) FROM vm WHERE name = ? AND vmid != ?", "sl",
		      c->display_name, vmid)) {
		api_refused("Reload failed: (vim.fault.DuplicateName) name = \"%s\": The name "
			    "'%s' already exists.", c->display_name, c->display_name);
		return false;
	}
	snprintf(name, len, "%s", c->display_name);
	if (store_exec("UPDATE vm SET name = ? WHERE vmid = ?", "sl", name, vmid) < 0) {
		api_store_error();
		return false;
	}
	return true;
}

static json_t *reload(json_t *params)
{
	char path[PATH_MAX], real[PATH_MAX], name[VMX_NAME_MAX];
	struct vmx_vm_config *c = NULL;
	json_t *result = NULL;
	long long vmid;

	if (!vm_row(params, &vmid, path, sizeof(path)))
		return NULL;
	/* as power.on: a folder swapped for a symbolic link is not followed */
	if (!realpath(path, real) || strcmp(real, path) != 0)
		return api_refused("Reload failed: %s: no longer the registered file (a symbolic "
				   "link, moved or removed); unregister and register it again", path);
	if (!(c = calloc(1, sizeof(*c))))
		return api_refused("Reload failed: out of memory");
	/* the name first: the view it compares with is the old one */
	if (prepare(path, c, "Reload") < 0 || !reload_name(vmid, path, c, name, sizeof(name)))
		goto out;
	if (vm_view_set(vmid, c) < 0) {
		api_refused("Reload failed: out of memory");
		goto out;
	}
	vmklog("VMX", "VM %lld (%s): configuration reloaded from %s: %s, vmx-%02u, %u MB, "
	       "%u vCPUs, %u NICs%s", vmid, name, path, c->guest_os, c->hw_version, c->memsize_mb,
	       c->numvcpus, c->nr_nics, vm_live_find(vmid) ? "; the running VM is unchanged until "
	       "its next power-on" : "");
	result = json_true();
out:
	free(c);
	return result;
}

void inventory_register(void)
{
	static const struct api_method methods[] = {
		{ "solo.registervm", registervm },
		{ "vmsvc.unregister", unregister },
		{ "vmsvc.getallvms", getallvms },
		{ "vmsvc.get.summary", summary },
		{ "vmsvc.reload", reload },
		{ 0 }
	};
	api_register_raw(methods);
}
