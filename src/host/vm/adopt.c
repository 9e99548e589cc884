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
 *
 * Orphans.  power.on spawns vmx before its runtime row is committed (the
 * row needs vmx's pid and start time), so a vmkd killed in between leaves
 * a vmx that no row records.  Its power-on was never acknowledged, and
 * the store (the host's truth) says the VM is off, so the new vmkd makes
 * that true: it stops such a vmx and removes what it left.  Adopting it
 * instead would make an uncommitted request take effect.  The intent is
 * on disk before the spawn: the run directory <run dir>/vms/<vmid> is
 * made first, then the cgroup, and the child joins the cgroup before it
 * execs vmx.  So each run directory with no adopted VM is looked at, and
 * its vmx found two ways: the processes of the VM's cgroup (vmx from
 * its first instruction on, and only vmk's), and the peer of its control
 * socket (SO_PEERCRED), which is believed only when that process's
 * command line names this very socket after --control (a machine without
 * cgroups).  A kill landing between fork and the child's joining its
 * cgroup, before the socket exists, is the one window left: microseconds
 * of a child that runs no code of vmx's yet.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store.h"
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
		vm_live_attach_ports(v);
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

/* ---- orphans ---- */

#define MAX_ORPHAN_PIDS 16

/* Whether pid's command line has "--control" followed by ctl. */
static bool is_vmx_of(pid_t pid, const char *ctl)
{
	char path[64], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *a = buf; a < buf + n; a += strlen(a) + 1)
		if (strcmp(a, "--control") == 0 && a + strlen(a) + 1 < buf + n &&
		    strcmp(a + strlen(a) + 1, ctl) == 0)
			return true;
	return false;
}

static int orphan_pids(long long vmid, const char *ctl, pid_t *pids, int max)
{
	int n = vm_cgroup_pids(vmid, pids, max), fd = vmxctl_connect(ctl);
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (fd < 0)
		return n;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.pid > 0 && n < max &&
	    is_vmx_of(cr.pid, ctl)) {
		bool seen = false;
		for (int i = 0; i < n; i++)
			seen |= pids[i] == cr.pid;
		if (!seen)
			pids[n++] = cr.pid;
	}
	close(fd);
	return n;
}

/* SIGKILL through a pidfd (no reused pid is hit), and a bounded wait. */
static void stop_pid(pid_t pid)
{
	int fd = vm_pidfd_open(pid);

	if (fd < 0) {
		kill(pid, SIGKILL);
		for (int i = 0; i < 200 && vm_proc_start_time(pid); i++)
			usleep(10000);
		return;
	}
#ifdef SYS_pidfd_send_signal
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
#else
	kill(pid, SIGKILL);
#endif
	struct pollfd p = { .fd = fd, .events = POLLIN };
	poll(&p, 1, 2000);
	close(fd);
}

static void sweep_one(long long vmid)
{
	struct row r = { .vmid = vmid };
	pid_t pids[MAX_ORPHAN_PIDS];
	char why[256] = "its power-on was never recorded (vmkd stopped during it)";
	int n;

	if (VM_FMT(r.ctl_path, sizeof(r.ctl_path), "%s/vms/%lld/control.sock",
		   vm_instance->run_dir, vmid) < 0)
		return;
	if (!store_text(r.name, sizeof(r.name), "SELECT name FROM vm WHERE vmid = ?", "l", vmid))
		snprintf(r.name, sizeof(r.name), "unregistered");
	n = orphan_pids(vmid, r.ctl_path, pids, MAX_ORPHAN_PIDS);
	for (int i = 0; i < n; i++)
		stop_pid(pids[i]);
	if (n)
		snprintf(why, sizeof(why), "vmx (pid %d) stopped: its power-on was never recorded "
			 "(vmkd stopped during it)", (int)pids[0]);
	clear(&r, why);
}

/* Each <run dir>/vms/<vmid> that no adopted VM owns. */
static void sweep_orphans(void)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (VM_FMT(dir, sizeof(dir), "%s/vms", vm_instance->run_dir) < 0 || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		char *end;
		long long vmid = strtoll(e->d_name, &end, 10);
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || *end || vmid <= 0 ||
		    vm_live_find(vmid))
			continue;
		sweep_one(vmid);
	}
	closedir(d);
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
	sweep_orphans();
}
