/*
 * The running VMs as vmkd sees them, and how it notices that one stopped.
 *
 * Each running VM has a struct vm_live in a small table (a host runs
 * tens of VMs, not thousands: a linear search is the simple choice).
 * vmx's exit is seen through a pidfd watched on vmkd's event loop: it
 * becomes readable when the process ends, whether vmkd spawned it or
 * adopted it after a restart (then vmx is not vmkd's child any more and
 * the exit status is unknown).  Where the kernel has no pidfd, the
 * control connection's hang-up is watched instead, and the process is
 * looked at to tell an exit from a re-executing vmx.
 *
 * When a VM stops, whoever stopped it: the reason goes to vmkernel.log
 * (with the last line vmx wrote to vmware.log: its error, usually), its
 * switch ports are released, its cgroup and run directory removed, and
 * its runtime row deleted, in one transaction.  The VM is then
 * "Powered off".
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "store.h"
#include "switching_vm.h"
#include "vm.h"
#include "vmklog.h"
#include "vmmac.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static struct vm_live **live;
static unsigned nlive;

int vm_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

int vm_signal(const struct vm_live *v, int sig)
{
#ifdef SYS_pidfd_send_signal
	if (v->pidfd >= 0)
		return (int)syscall(SYS_pidfd_send_signal, v->pidfd, sig, NULL, 0);
#endif
	return kill(v->pid, sig);
}

unsigned long long vm_proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: fields 3.. start
	 * after the last ')'. */
	char *p = strrchr(buf, ')');
	char state;
	if (!p || sscanf(p + 1, " %c", &state) != 1 || state == 'Z' || state == 'X')
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

struct vm_live *vm_live_find(long long vmid)
{
	for (unsigned i = 0; i < nlive; i++)
		if (live[i]->vmid == vmid)
			return live[i];
	return NULL;
}

struct vm_live *vm_live_by_world(long long world_id)
{
	for (unsigned i = 0; i < nlive; i++)
		if (live[i]->world_id == world_id)
			return live[i];
	return NULL;
}

static int by_vmid(const void *a, const void *b)
{
	long long x = (*(struct vm_live *const *)a)->vmid, y = (*(struct vm_live *const *)b)->vmid;
	return (x > y) - (x < y);
}

void vm_live_each(void (*fn)(struct vm_live *v, void *arg), void *arg)
{
	if (nlive)
		qsort(live, nlive, sizeof(*live), by_vmid);
	for (unsigned i = 0; i < nlive; i++)
		fn(live[i], arg);
}

unsigned vm_live_count(void)
{
	return nlive;
}

void vm_live_attach_ports(struct vm_live *v)
{
	char name[SW_VM_PORT_NAME_MAX], err[256];

	for (unsigned i = 0; i < v->nr_nics; i++) {
		/* "Connect at power on" off: the adapter's link stays down,
		 * as vmx's is while no back end has connected */
		if (!v->nics[i].start_connected)
			continue;
		snprintf(name, sizeof(name), "vm%lld.eth%u", v->vmid, v->nics[i].index);
		if (switching_attach_vm_port(name, v->vmid, v->nics[i].portgroup, v->nics[i].sock,
					     v->nics[i].mac, err, sizeof(err)) < 0)
			vmklog_warn("VMX", "VM %lld: ethernet%u not connected: %s", v->vmid,
				    v->nics[i].index, err);
	}
}

void vm_live_set_config(struct vm_live *v, const struct vmx_vm_config *c)
{
	char uuid[VMX_UUID_STRLEN];

	snprintf(v->name, sizeof(v->name), "%s", c->display_name);
	vmx_uuid_format(c->uuid_bios, uuid);
	snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);
	v->nr_nics = 0;
	for (unsigned i = 0; i < c->nr_nics && i < VMXFILE_MAX_NICS; i++) {
		struct vm_nic *n = &v->nics[v->nr_nics++];
		n->index = c->nics[i].index;
		snprintf(n->portgroup, sizeof(n->portgroup), "%s", c->nics[i].network_name);
		memcpy(n->mac, c->nics[i].mac, 6);
		n->start_connected = c->nics[i].start_connected;
		VM_FMT(n->sock, sizeof(n->sock), "%s/ethernet%u.sock", v->run_dir, n->index);
	}
}

/* ---- exit ---- */

static void describe_exit(struct vm_live *v, char *why, size_t len)
{
	siginfo_t si = { 0 };
	char tail[512];

	/* Reap a child of ours first, whatever the reason, so that no
	 * zombie stays behind. */
	bool reaped = v->child && v->pidfd >= 0 &&
		      waitid((idtype_t)P_PIDFD, (id_t)v->pidfd, &si, WEXITED | WNOHANG) == 0 &&
		      si.si_pid;

	vmx_log_tail(v->vmx_path, tail, sizeof(tail));
	if (v->stop_reason) {
		snprintf(why, len, "%s", v->stop_reason);
		return;
	}
	if (reaped) {
		if (si.si_code == CLD_EXITED && si.si_status == 0 && v->shutdown_asked)
			snprintf(why, len, "the guest powered off (vmsvc/power.shutdown)");
		else if (si.si_code == CLD_EXITED)
			snprintf(why, len, "vmx exited with status %d%s%s", si.si_status,
				 tail[0] ? ": " : "", tail);
		else
			snprintf(why, len, "vmx was killed by signal %d (%s)", si.si_status,
				 strsignal(si.si_status));
		return;
	}
	snprintf(why, len, "vmx (pid %d) exited%s%s", (int)v->pid, tail[0] ? "; vmware.log: " : "",
		 tail);
}

/* Waits up to ms for vmx to end; true when it did. */
static bool wait_exit(struct vm_live *v, int ms)
{
	if (v->pidfd >= 0) {
		struct pollfd p = { .fd = v->pidfd, .events = POLLIN };
		return poll(&p, 1, ms) == 1;
	}
	for (int i = 0; i < ms / 10 + 1; i++) {
		if (vm_proc_start_time(v->pid) != v->start_time)
			return true;
		usleep(10000);
	}
	return false;
}

static void remove_run_dir(struct vm_live *v)
{
	char path[PATH_MAX + 32];

	unlink(v->ctl_path);
	for (unsigned i = 0; i < v->nr_nics; i++)
		unlink(v->nics[i].sock);
	snprintf(path, sizeof(path), "%s", v->run_dir);
	rmdir(path);
}

static void table_remove(struct vm_live *v)
{
	for (unsigned i = 0; i < nlive; i++)
		if (live[i] == v)
			live[i] = live[--nlive];
}

static void unwatch(struct vm_live *v)
{
	if (v->pidfd >= 0) {
		loop_del(v->pidfd);
		close(v->pidfd);
	} else if (v->ctl_fd >= 0) {
		loop_del(v->ctl_fd);
	}
	if (v->ctl_fd >= 0)
		close(v->ctl_fd);
	v->pidfd = v->ctl_fd = -1;
}

void vm_live_gone(struct vm_live *v, int wait_ms)
{
	bool own = !store_in_transaction();
	char why[1024];

	if (!wait_exit(v, wait_ms)) {
		vm_signal(v, SIGKILL);	/* the caller gave up on it */
		wait_exit(v, 2000);
	}
	describe_exit(v, why, sizeof(why));
	switching_detach_vm_ports(v->vmid);
	unwatch(v);
	vm_cgroup_remove(v->vmid);
	remove_run_dir(v);
	if (own)
		store_begin();
	if (store_exec("DELETE FROM vm_runtime WHERE vmid = ?", "l", v->vmid) < 0)
		vmklog_warn("VMX", "VM %lld: cannot clear its runtime state: %s", v->vmid,
			    store_errmsg());
	if (own && store_commit() < 0)
		store_rollback();
	vmklog("VMX", "VM %lld (%s): Powered off: %s", v->vmid, v->name, why);
	table_remove(v);
	free(v);
}

/* The pidfd became readable (or, without pidfds, the control socket hung
 * up): vmx ended, unless it only re-executed itself. */
static void exit_event(void *arg, uint32_t events)
{
	struct vm_live *v = arg;
	struct pollfd p = { .fd = v->pidfd, .events = POLLIN };

	(void)events;
	/* An event of the same epoll batch may be stale: the VM it was for
	 * was stopped by an earlier callback, and a new VM's pidfd got the
	 * same fd number.  Only a pidfd that is readable now means an exit. */
	if (v->pidfd >= 0 && poll(&p, 1, 0) != 1)
		return;
	if (v->pidfd < 0 && vm_proc_start_time(v->pid) == v->start_time) {
		loop_del(v->ctl_fd);	/* a restart: the next call reconnects */
		close(v->ctl_fd);
		v->ctl_fd = -1;
		return;
	}
	vm_live_gone(v, 0);
}

int vm_live_add(struct vm_live *v)
{
	struct vm_live **l = realloc(live, (nlive + 1) * sizeof(*l));

	if (!l)
		return -1;
	live = l;
	if (v->pidfd >= 0 ? loop_add(v->pidfd, EPOLLIN, exit_event, v) < 0
			  : (v->ctl_fd >= 0 && loop_add(v->ctl_fd, EPOLLRDHUP, exit_event, v) < 0))
		return -1;
	live[nlive++] = v;
	return 0;
}

void vm_live_release_all(void)
{
	while (nlive) {
		struct vm_live *v = live[--nlive];
		switching_detach_vm_ports(v->vmid);
		unwatch(v);
		free(v);
	}
	free(live);
	live = NULL;
}
