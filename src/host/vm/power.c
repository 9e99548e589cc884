/*
 * Power operations (vim-cmd vmsvc/power.*), as the reference names them:
 *
 *   power.on        check the .vmx against the host, then start vmx (its
 *                   own session, cgroup, run directory) and wait until its
 *                   control socket answers; then attach its NICs' ports
 *   power.off       hard: vmx's `stop`, SIGKILL if it is not gone in 3 s;
 *                   returns once vmx is gone and cleaned up
 *   power.shutdown  soft: vmx's `shutdown` (the guest is asked to power
 *                   off; the VM is Powered off when it has)
 *   power.reset     vmx's `reset`
 *   power.getstate  "Powered on" / "Powered off"
 *
 * Power-on checks, each failing with the file, line and key at fault and
 * nothing changed (no process, no cgroup, no row): the .vmx parses and is
 * complete (vmx_vm_config_from: disks, kernel and initrd exist), memsize
 * fits in the host's RAM, no MAC of the VM is used by a powered-on VM, a
 * VMkernel adapter or an external VM port, every networkName is a port
 * group of the host.  Errors read as the reference's faults do.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "store.h"
#include "switching_vm.h"
#include "vm.h"
#include "vmklog.h"
#include "vmmac.h"

#define START_TIMEOUT_MS 10000
#define OFF_TIMEOUT_MS 3000

long long vm_param_vmid(json_t *params)
{
	json_t *v = json_object_get(params, "vmid");
	char *end;

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? json_integer_value(v) : -1;
	if (!json_is_string(v))
		return -1;
	long long id = strtoll(json_string_value(v), &end, 10);
	return (*end || end == json_string_value(v) || id <= 0) ? -1 : id;
}

int vm_load_config(const char *vmx_path, struct vmx_vm_config *c, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct vmxfile *f = vmxfile_load(vmx_path, err, errlen);

	if (!f)
		return -1;
	snprintf(dir, sizeof(dir), "%s", vmx_path);
	*strrchr(dir, '/') = '\0';
	int rc = vmx_vm_config_from(f, dir, c, err, errlen);
	vmxfile_free(f);
	return rc;
}

bool vm_row(json_t *params, long long *vmid, char *path, size_t len)
{
	json_t *raw = json_object_get(params, "vmid");

	*vmid = vm_param_vmid(params);
	if (*vmid < 0) {
		if (!raw)
			api_invalid("Missing vmid: give the vmid of a virtual machine (vmsvc/getallvms)");
		else
			api_invalid("Invalid vmid '%s': not a vmid",
				    json_is_string(raw) ? json_string_value(raw) : "?");
		return false;
	}
	if (!store_text(path, len, "SELECT path FROM vm WHERE vmid = ?", "l", *vmid)) {
		api_invalid("Unable to find a VM corresponding to \"%lld\"", *vmid);
		return false;
	}
	return true;
}

json_t *vm_invalid_state(const char *op, bool on)
{
	return api_refused("%s failed: (vim.fault.InvalidPowerState) requestedState = \"%s\", "
			   "existingState = \"%s\": The attempted operation cannot be performed "
			   "in the current state (%s).", op, on ? "poweredOff" : "poweredOn",
			   on ? "poweredOn" : "poweredOff", on ? "Powered on" : "Powered off");
}

/* ---- power-on checks ---- */

static unsigned long long host_ram_mb(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (unsigned long long)pages * (unsigned long long)size >> 20
				     : 0;
}

static void where(const struct vmxfile *f, const char *key, char *buf, size_t len)
{
	unsigned line = vmxfile_line(f, key);

	if (line)
		snprintf(buf, len, "%s:%u: %s", vmxfile_name(f), line, key);
	else
		snprintf(buf, len, "%s: %s", vmxfile_name(f), key);
}

struct mac_hit {
	const uint8_t *mac;
	long long vmid;		/* the VM that has it, or -1 */
};

static void mac_in_vm(struct vm_live *v, void *arg)
{
	struct mac_hit *h = arg;

	for (unsigned i = 0; i < v->nr_nics && h->vmid < 0; i++)
		if (memcmp(v->nics[i].mac, h->mac, 6) == 0)
			h->vmid = v->vmid;
}

/* Who else uses mac: "" if nobody. */
static void mac_user(const uint8_t mac[6], char *who, size_t len)
{
	struct mac_hit h = { mac, -1 };
	char text[18], name[64];

	who[0] = '\0';
	vm_live_each(mac_in_vm, &h);
	if (h.vmid >= 0) {
		snprintf(who, len, "powered-on VM %lld", h.vmid);
		return;
	}
	vmx_mac_format(mac, text);
	if (store_text(name, sizeof(name), "SELECT name FROM vmknic WHERE lower(mac) = ?", "s",
		       text))
		snprintf(who, len, "VMkernel adapter %s", name);
	else if (store_text(name, sizeof(name), "SELECT name FROM vm_port WHERE lower(mac) = ?",
			    "s", text))
		snprintf(who, len, "VM port %s", name);
}

static const char *mac_key(const struct vmx_nic *n, char *buf, size_t len)
{
	snprintf(buf, len, "ethernet%u.%s", n->index,
		 n->address_type == VMX_ADDR_STATIC ? "address" : "generatedAddress");
	return buf;
}

static bool check_nics(const struct vmxfile *f, const struct vmx_vm_config *c)
{
	char key[64], at[PATH_MAX + 128], who[128], text[18];

	for (unsigned i = 0; i < c->nr_nics; i++) {
		const struct vmx_nic *n = &c->nics[i];
		for (unsigned j = 0; j < i; j++)
			if (memcmp(c->nics[j].mac, n->mac, 6) == 0) {
				where(f, mac_key(n, key, sizeof(key)), at, sizeof(at));
				vmx_mac_format(n->mac, text);
				api_refused("%s: MAC address %s is also ethernet%u's", at, text,
					    c->nics[j].index);
				return false;
			}
		mac_user(n->mac, who, sizeof(who));
		if (who[0]) {
			where(f, mac_key(n, key, sizeof(key)), at, sizeof(at));
			vmx_mac_format(n->mac, text);
			api_refused("%s: MAC address %s is already in use by %s", at, text, who);
			return false;
		}
		if (store_int(0, "SELECT count(*) FROM portgroup WHERE name = ?", "s",
			      n->network_name) == 0) {
			snprintf(key, sizeof(key), "ethernet%u.networkName", n->index);
			where(f, key, at, sizeof(at));
			api_refused("%s: no port group '%s' on this host", at, n->network_name);
			return false;
		}
	}
	if (c->nr_nics && !switching_vm_supported()) {
		api_refused("%s: this vmkd has no vhost-user back end for VM network adapters",
			    vmxfile_name(f));
		return false;
	}
	return true;
}

static bool check_host(const struct vmxfile *f, const struct vmx_vm_config *c)
{
	unsigned long long ram = host_ram_mb();
	char at[PATH_MAX + 64];

	if (ram && c->memsize_mb > ram) {
		where(f, "memsize", at, sizeof(at));
		api_refused("%s: %u MB is more than the host's memory (%llu MB)", at, c->memsize_mb,
			    ram);
		return false;
	}
	return check_nics(f, c);
}

/* Loads and checks everything; false after api_fail. */
static bool load_checked(const char *path, struct vmx_vm_config *c)
{
	char err[1024], dir[PATH_MAX], real[PATH_MAX];

	/* The path was resolved inside a datastore at registration; a folder
	 * on it replaced by a symbolic link since must not lead vmx out. */
	if (!realpath(path, real) || strcmp(real, path) != 0) {
		api_refused("Power on failed: %s: no longer the registered file (a symbolic "
			    "link, moved or removed); unregister and register it again", path);
		return false;
	}
	struct vmxfile *f = vmxfile_load(path, err, sizeof(err));

	if (!f) {
		api_refused("Power on failed: %s", err);
		return false;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	bool ok = vmx_vm_config_from(f, dir, c, err, sizeof(err)) == 0;
	if (!ok)
		api_refused("Power on failed: %s", err);
	else
		ok = check_host(f, c);
	vmxfile_free(f);
	return ok;
}

/* ---- starting vmx ---- */

static int make_run_dir(struct vm_live *v)
{
	char vms[PATH_MAX + 8];

	snprintf(vms, sizeof(vms), "%s/vms", vm_instance->run_dir);
	if ((mkdir(vms, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(v->run_dir, 0700) < 0 && errno != EEXIST))
		return -1;
	unlink(v->ctl_path);	/* a leftover: vmx will not bind over it */
	for (unsigned i = 0; i < v->nr_nics; i++)
		unlink(v->nics[i].sock);
	return 0;
}

static struct vm_live *live_new(long long vmid, const char *path, const struct vmx_vm_config *c)
{
	struct vm_live *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->vmid = vmid;
	v->pidfd = v->ctl_fd = -1;
	snprintf(v->vmx_path, sizeof(v->vmx_path), "%s", path);
	int n = snprintf(v->run_dir, sizeof(v->run_dir), "%s/vms/%lld", vm_instance->run_dir, vmid);
	int m = snprintf(v->ctl_path, sizeof(v->ctl_path), "%s/control.sock", v->run_dir);
	vm_live_set_config(v, c);
	/* ethernet9.sock is the longest name: it must fit in sun_path too. */
	if (n < 0 || m < 0 || (size_t)m >= sizeof(v->ctl_path) ||
	    strlen(v->run_dir) + sizeof("/ethernet9.sock") > VM_SOCK_MAX) {
		free(v);
		return NULL;
	}
	return v;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until vmx's control socket answers.  0, or -1 when vmx ended or
 * the time ran out (why in err).  The deadline is in time, not in tries:
 * one connect may itself wait (vmxctl.c). */
static int wait_ready(struct vm_live *v, char *err, size_t errlen)
{
	long long deadline = now_ms() + START_TIMEOUT_MS;
	bool first = true;

	while (now_ms() < deadline) {
		struct pollfd p = { .fd = v->pidfd, .events = POLLIN };
		/* vmx opens its socket a few ms after exec: retry every 2 ms
		 * (the power-on's reply waits for it), waking at once if vmx
		 * exits instead. */
		if (!first && v->pidfd < 0) {
			struct timespec ts = { 0, 2 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (v->pidfd >= 0 && poll(&p, 1, first ? 0 : 2) == 1) {
			char tail[512];
			vmx_log_tail(v->vmx_path, tail, sizeof(tail));
			snprintf(err, errlen, "vmx exited: %s", tail[0] ? tail : "(no message)");
			return -1;
		}
		if ((v->ctl_fd = vmxctl_connect(v->ctl_path)) >= 0)
			return 0;
		first = false;
	}
	snprintf(err, errlen, "vmx did not open its control socket within %d s",
		 START_TIMEOUT_MS / 1000);
	return -1;
}

/* Undoes a start that failed. */
static void abort_start(struct vm_live *v)
{
	if (v->pid > 0) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
	}
	if (v->pidfd >= 0)
		close(v->pidfd);
	if (v->ctl_fd >= 0)
		close(v->ctl_fd);
	vm_cgroup_remove(v->vmid);
	unlink(v->ctl_path);
	rmdir(v->run_dir);
	free(v);
}

static bool start(struct vm_live *v, const struct vmx_vm_config *c, char *err, size_t errlen)
{
	struct vm_cgroup cg;
	const char *procs[VM_CGROUP_MAX + 1] = { 0 };

	if (make_run_dir(v) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", v->run_dir, strerror(errno));
		return false;
	}
	if (vm_cgroup_create(v->vmid, &c->sched, c->numvcpus, &cg, err, errlen) < 0)
		return false;
	for (unsigned i = 0; i < cg.n; i++)
		procs[i] = cg.procs[i];
	v->pid = vmx_spawn(v, c, NULL, procs, err, errlen);
	if (v->pid < 0)
		return false;
	vm_crash_point("power.on:spawned");
	v->child = true;
	v->pidfd = vm_pidfd_open(v->pid);
	v->start_time = vm_proc_start_time(v->pid);
	if (wait_ready(v, err, errlen) < 0)
		return false;
	v->world_id = vmxctl_world_id(v);
	return true;
}

/* Commits the runtime row now, before the ports are attached and the
 * reply is sent, rather than leaving it to the request's commit: a commit
 * that fails there (disk full) would leave vmx running with no row and
 * vmkd believing it on.  Here a failed commit stops vmx again and the
 * request fails as a whole.  A new transaction is opened for api.c to
 * close.  A vmkd killed before the commit leaves an orphan that the next
 * start stops (adopt.c); one killed after it, a VM that start adopts.
 * False after api_fail. */
static bool record(struct vm_live *v)
{
	vm_crash_point("power.on:ready");
	if (store_exec("INSERT INTO vm_runtime(vmid, pid, start_time, world_id, control_path, "
		       "state) VALUES (?, ?, ?, ?, ?, 'poweredOn')", "ldlls", v->vmid, (int)v->pid,
		       (long long)v->start_time, v->world_id, v->ctl_path) < 0 ||
	    store_commit() < 0) {
		api_store_error();
		store_rollback();
		v->stop_reason = "its power-on could not be recorded in the store";
		vm_live_gone(v, 0);
		return false;
	}
	vm_crash_point("power.on:recorded");
	if (store_begin() < 0)
		vmklog_warn("VMX", "VM %lld: store: %s", v->vmid, store_errmsg());
	return true;
}

static json_t *power_on(json_t *params)
{
	char path[PATH_MAX], err[1024];
	struct vmx_vm_config *c = calloc(1, sizeof(*c));
	struct vm_live *v = NULL;
	json_t *result = NULL;
	long long vmid;

	if (!c)
		return api_refused("Power on failed: out of memory");
	if (!vm_row(params, &vmid, path, sizeof(path)))
		goto out;
	if (vm_live_find(vmid)) {
		vm_invalid_state("Power on", true);
		goto out;
	}
	if (!load_checked(path, c))
		goto out;
	if (!(v = live_new(vmid, path, c))) {
		api_refused("Power on failed: the run directory of VM %lld is too long", vmid);
		goto out;
	}
	if (!start(v, c, err, sizeof(err))) {
		abort_start(v);
		api_refused("Power on failed: %s", err);
		goto out;
	}
	if (vm_live_add(v) < 0) {
		abort_start(v);
		api_refused("Power on failed: cannot watch vmx (out of memory)");
		goto out;
	}
	if (!record(v))
		goto out;
	vm_live_attach_ports(v);
	vm_view_set(vmid, c);	/* the inventory shows what runs (view.c) */
	vmklog("VMX", "VM %lld (%s): Powered on: vmx pid %d, world %lld, %u vCPUs, %u MB, "
	       "%u NICs, cgroup %s", vmid, v->name, (int)v->pid, v->world_id, c->numvcpus,
	       c->memsize_mb, v->nr_nics, vm_cgroup_kind());
	result = json_true();
out:
	free(c);
	return result;
}

struct vm_live *vm_running(json_t *params, const char *op)
{
	char path[PATH_MAX];
	long long vmid;

	if (!vm_row(params, &vmid, path, sizeof(path)))
		return NULL;
	struct vm_live *v = vm_live_find(vmid);
	if (!v)
		vm_invalid_state(op, false);
	return v;
}

static json_t *power_off(json_t *params)
{
	struct vm_live *v = vm_running(params, "Power off");
	char err[256];

	if (!v)
		return NULL;
	json_decref(vmxctl_call(v, "stop", 1000, err, sizeof(err)));
	v->stop_reason = "powered off by request (vmsvc/power.off)";
	vm_live_gone(v, OFF_TIMEOUT_MS);
	return json_true();
}

static json_t *forward(json_t *params, const char *op, const char *method)
{
	struct vm_live *v = vm_running(params, op);
	char err[256];

	if (!v)
		return NULL;
	json_t *r = vmxctl_call(v, method, 2000, err, sizeof(err));
	if (!r)
		return api_refused("%s failed: %s", op, err);
	json_decref(r);
	vmklog("VMX", "VM %lld (%s): %s requested", v->vmid, v->name, method);
	return json_true();
}

static json_t *power_reset(json_t *params)
{
	return forward(params, "Reset", "reset");
}

/* A soft power-off, as the reference's "Shut Down Guest": vmx presses
 * the VM's ACPI power button and the request returns at once; a guest
 * that acts on it powers off (the monitor then sees vmx exit 0), one
 * that ignores it keeps running. */
static json_t *power_shutdown(json_t *params)
{
	struct vm_live *v = vm_running(params, "Shutdown");
	char err[256];

	if (!v)
		return NULL;
	json_t *r = vmxctl_call(v, "shutdown", 2000, err, sizeof(err));
	if (!r)
		return api_refused("Shutdown failed: (vim.fault.ToolsUnavailable) %s: the guest "
				   "cannot be asked to shut down (%s); use vmsvc/power.off",
				   v->name, err);
	json_decref(r);
	v->shutdown_asked = true;
	vmklog("VMX", "VM %lld (%s): shutdown requested (ACPI power button)", v->vmid, v->name);
	return json_true();
}

static json_t *power_getstate(json_t *params)
{
	char path[PATH_MAX];
	long long vmid;

	if (!vm_row(params, &vmid, path, sizeof(path)))
		return NULL;
	return json_pack("{s:s}", "state", vm_live_find(vmid) ? "Powered on" : "Powered off");
}

void power_register(void)
{
	static const struct api_method methods[] = {
		{ "vmsvc.power.on", power_on },
		{ "vmsvc.power.off", power_off },
		{ "vmsvc.power.reset", power_reset },
		{ "vmsvc.power.shutdown", power_shutdown },
		{ "vmsvc.power.getstate", power_getstate },
		{ 0 }
	};
	api_register_raw(methods);
}
