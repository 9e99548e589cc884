/*
 * Re-adoption: VMs keep running when vmkd stops or dies, and a new vmkd
 * takes them back.  For each vm_runtime row, the process with the row's
 * pid must still run and have the row's start time (/proc/PID/stat field
 * 22: a pid reused by another process has another start time); then
 * vmkd opens a pidfd on it, connects to its control socket, asks its
 * world id again and re-attaches its NICs' ports (vmx replays its device
 * state to the new vhost-user back end).  A row whose vmx is gone is
 * cleared, with its cgroup and run directory, and logged: the VM is
 * Powered off.  Runs in one transaction, before the API is served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "switching_vm.h"
#include "vm.h"
#include "vmklog.h"

struct row {
	long long vmid, world_id;
	pid_t pid;
	unsigned long long start_time;
	char ctl_path[VM_SOCK_MAX];
	char vmx_path[PATH_MAX];
	char name[VMX_NAME_MAX];
};

static void clear(const struct row *r, const char *why)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	store_exec("DELETE FROM vm_runtime WHERE vmid = ?", "l", r->vmid);
	vm_cgroup_remove(r->vmid);
	VM_FMT(dir, sizeof(dir), "%s/vms/%lld", vm_instance->run_dir, r->vmid);
	unlink(r->ctl_path);
	for (int i = 0; i < VMXFILE_MAX_NICS; i++) {
		snprintf(path, sizeof(path), "%s/ethernet%d.sock", dir, i);
		unlink(path);
	}
	rmdir(dir);
	vmklog("VMX", "VM %lld (%s): Powered off: %s", r->vmid, r->name, why);
}

static void attach(struct vm_live *v)
{
	char name[SW_VM_PORT_NAME_MAX], err[256];

	for (unsigned i = 0; i < v->nr_nics; i++) {
		snprintf(name, sizeof(name), "vm%lld.eth%u", v->vmid, v->nics[i].index);
		if (switching_attach_vm_port(name, v->vmid, v->nics[i].portgroup, v->nics[i].sock,
					     v->nics[i].mac, err, sizeof(err)) < 0)
			vmklog_warn("VMX", "VM %lld: ethernet%u not connected: %s", v->vmid,
				    v->nics[i].index, err);
	}
}

static void adopt(const struct row *r)
{
	struct vmx_vm_config *c = calloc(1, sizeof(*c));
	struct vm_live *v = calloc(1, sizeof(*v));
	char err[1024];

	if (!c || !v) {
		free(c);
		free(v);
		return;
	}
	*v = (struct vm_live){ .vmid = r->vmid, .pid = r->pid, .start_time = r->start_time,
			       .world_id = r->world_id, .pidfd = -1, .ctl_fd = -1 };
	snprintf(v->vmx_path, sizeof(v->vmx_path), "%s", r->vmx_path);
	VM_FMT(v->run_dir, sizeof(v->run_dir), "%s/vms/%lld", vm_instance->run_dir, r->vmid);
	snprintf(v->ctl_path, sizeof(v->ctl_path), "%s", r->ctl_path);
	snprintf(v->name, sizeof(v->name), "%s", r->name);
	/* The ports need the .vmx as it was at power-on; a file changed
	 * since then gives its present NICs, which is what the reference
	 * would show after a reload too. */
	if (vm_load_config(r->vmx_path, c, err, sizeof(err)) == 0)
		vm_live_set_config(v, c);
	else
		vmklog_warn("VMX", "VM %lld: re-adopted without its NICs: %s", r->vmid, err);
	v->pidfd = vm_pidfd_open(v->pid);
	v->ctl_fd = vmxctl_connect(v->ctl_path);
	long long w = vmxctl_world_id(v);
	if (w != v->world_id) {
		v->world_id = w;
		store_exec("UPDATE vm_runtime SET world_id = ? WHERE vmid = ?", "ll", w, v->vmid);
	}
	if (vm_live_add(v) < 0) {
		vmklog_warn("VMX", "VM %lld: cannot watch vmx pid %d", r->vmid, (int)r->pid);
		if (v->pidfd >= 0)
			close(v->pidfd);
		if (v->ctl_fd >= 0)
			close(v->ctl_fd);
		free(v);
	} else {
		attach(v);
		vmklog("VMX", "VM %lld (%s): re-adopted running vmx pid %d, world %lld", v->vmid,
		       v->name, (int)v->pid, v->world_id);
	}
	free(c);
}

static int read_rows(struct row **out)
{
	sqlite3_stmt *st = store_stmt("SELECT r.vmid, r.pid, r.start_time, r.world_id, "
				      "r.control_path, v.path, v.name FROM vm_runtime r "
				      "JOIN vm v ON v.vmid = r.vmid ORDER BY r.vmid", "");
	struct row *rows = NULL;
	int n = 0;

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct row *l = realloc(rows, (size_t)(n + 1) * sizeof(*l));
		if (!l)
			break;
		rows = l;
		struct row *r = &rows[n++];
		r->vmid = sqlite3_column_int64(st, 0);
		r->pid = (pid_t)sqlite3_column_int64(st, 1);
		r->start_time = (unsigned long long)sqlite3_column_int64(st, 2);
		r->world_id = sqlite3_column_int64(st, 3);
		snprintf(r->ctl_path, sizeof(r->ctl_path), "%s", store_col_text(st, 4));
		snprintf(r->vmx_path, sizeof(r->vmx_path), "%s", store_col_text(st, 5));
		snprintf(r->name, sizeof(r->name), "%s", store_col_text(st, 6));
	}
	sqlite3_finalize(st);
	*out = rows;
	return n;
}

void vm_adopt_all(void)
{
	struct row *rows;
	char why[128];
	int n = read_rows(&rows);

	for (int i = 0; i < n; i++) {
		struct row *r = &rows[i];
		unsigned long long st = r->pid > 0 ? vm_proc_start_time(r->pid) : 0;
		if (st && st == r->start_time) {
			adopt(r);
			continue;
		}
		snprintf(why, sizeof(why), "vmx (pid %d) is no longer running (found at start)",
			 (int)r->pid);
		clear(r, why);
	}
	free(rows);
}
