/*
 * vmkd's virtual machines (docs/vms.md, "vmkd"): datastores, the
 * inventory of registered .vmx files, power operations, and the live
 * image of every running VM.
 *
 * The store is the truth about what is registered (tables datastore, vm)
 * and what runs (vm_runtime: pid, process start time, world id, control
 * socket), so that a restarted vmkd re-adopts the VMs whose vmx still
 * runs.  The live image (struct vm_live, one per running VM) holds what
 * only a running vmkd has: the pidfd that tells when vmx exits, the
 * control-socket connection, the switch ports.
 *
 * One file per concern:
 *   datastore.c    datastores, `storage filesystem list`, paths in them
 *   inventory.c    registervm, unregister, reload, getallvms, get.summary
 *   view.c         what the inventory shows of each VM (the .vmx as last
 *                  read at registervm, reload or power.on)
 *   guest.c        get.guest, power.reboot (a guest without VMware Tools)
 *   power.c        power.on/off/reset/shutdown/getstate and their checks
 *   process.c      `vm process list/kill`
 *   vmx_process.c  building vmx's argv and spawning it
 *   vmxctl.c       requests on vmx's control socket
 *   cgroup.c       the VM's cgroup (v1 or v2) from its sched.* keys
 *   monitor.c      the live table; exit detection; cleanup when a VM stops
 *   adopt.c        re-adoption at start
 *   netvm.c        `network vm list`, `network vm port list`, and external
 *                  front ends (network.vm.port.add/remove)
 * The VM ports on the vSwitches are switching_vm.c's (switching_vm.h).
 *
 * Everything runs on vmkd's main thread.
 */
#ifndef VMKD_VM_H
#define VMKD_VM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include <jansson.h>

#include "instance.h"
#include "vmxfile.h"

#define VM_SOCK_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* snprintf for paths (vm.c): 0, or -1 when the result did not fit and
 * was truncated. */
int vm_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define VM_FMT vm_fmt

/* ---- vm.c: entry points for main.c ---- */

void vm_register(void);
/* Creates the default datastore if the host has none, re-adopts the VMs
 * that still run.  After the datapath started. */
void vm_start(const struct instance *in);
/* vmkd stops: releases ports and connections; the VMs keep running. */
void vm_stop(void);

/* The instance vm_start was given. */
extern const struct instance *vm_instance;

/* For tests of crash recovery: when $VMK_TEST_CRASH_AT names this point,
 * vmkd kills itself with SIGKILL there, as a kill -9 landing at that very
 * moment would (docs/vms.md lists the points). */
void vm_crash_point(const char *point);

/* ---- datastore.c ---- */

/* The default datastore <state dir>/volumes/datastore1, when the store has
 * no datastore at all.  Inside a transaction. 0 or -1. */
int datastore_ensure_default(const struct instance *in);
/* The datastore holding the absolute, resolved path: its id and name (and
 * the path relative to it in rel), or -1 if none does. */
long long datastore_of(const char *path, char *name, size_t namelen, char *rel, size_t rellen);
/* "[datastore1] dir/name.vmx" for a VM's file. */
void datastore_display_path(const char *path, char *buf, size_t len);
void datastore_register(void);

/* ---- the live image of running VMs (monitor.c) ---- */

struct vm_nic {
	unsigned index;			/* ethernetN */
	char portgroup[VMX_NAME_MAX];
	uint8_t mac[6];
	char sock[VM_SOCK_MAX];		/* vmx's vhost-user socket */
	bool start_connected;		/* ethernetN.startConnected */
};

struct vm_live {
	long long vmid;
	pid_t pid;
	unsigned long long start_time;	/* /proc/PID/stat field 22 */
	long long world_id;		/* vCPU 0's thread id */
	int pidfd;			/* readable when vmx exits */
	int ctl_fd;			/* control connection, -1 when closed */
	bool child;			/* ours: waitid tells the exit status */
	const char *stop_reason;	/* set when vmkd stops it on purpose */
	bool shutdown_asked;		/* power.shutdown pressed its power button */
	char name[VMX_NAME_MAX];	/* displayName */
	char vmx_path[PATH_MAX];	/* the .vmx */
	char run_dir[PATH_MAX];		/* <run dir>/vms/<vmid> */
	char ctl_path[VM_SOCK_MAX];
	char uuid[64];			/* uuid.bios, VMware's text form */
	unsigned nr_nics;
	struct vm_nic nics[VMXFILE_MAX_NICS];
};

/* The running VM of that vmid / world id / name, or NULL. */
struct vm_live *vm_live_find(long long vmid);
struct vm_live *vm_live_by_world(long long world_id);
/* Calls fn for each running VM, in vmid order. */
void vm_live_each(void (*fn)(struct vm_live *v, void *arg), void *arg);
unsigned vm_live_count(void);
/* Takes v (malloc'd, pid and pidfd set) into the table and watches it;
 * the runtime row is written by the caller.  0 or -1. */
int vm_live_add(struct vm_live *v);
/* vmx of v is gone or going: reaps it (waiting up to wait_ms for it to
 * exit), logs why, releases its ports, cgroup and run directory, deletes
 * its runtime row (in the open transaction, or in one of its own) and
 * frees v. */
void vm_live_gone(struct vm_live *v, int wait_ms);
/* Frees every live image, leaving the VMs running (vmkd stops). */
void vm_live_release_all(void);
/* The NICs and names of v from its config (after a start or adoption). */
void vm_live_set_config(struct vm_live *v, const struct vmx_vm_config *c);
/* Puts each of v's NICs on its port group as port vm<vmid>.eth<N>
 * (after a power-on or an adoption; vm_live_gone takes them off). */
void vm_live_attach_ports(struct vm_live *v);

/* Sends sig to v's vmx through its pidfd when it has one, so that a pid
 * reused after vmx's exit is never signalled; kill(2) otherwise. */
int vm_signal(const struct vm_live *v, int sig);
/* pidfd_open(2); -1 where the kernel has none. */
int vm_pidfd_open(pid_t pid);
/* Field 22 of /proc/PID/stat (start time in clock ticks), 0 if the
 * process is gone or a zombie. */
unsigned long long vm_proc_start_time(pid_t pid);

/* ---- vmxctl.c: vmx's control socket ---- */

/* Connects to the socket; the fd or -1. */
int vmxctl_connect(const char *path);
/* Sends {"id":N,"method":M} on v's connection (connecting if needed) and
 * waits up to timeout_ms for the reply: its result (a new reference), or
 * NULL with a one-line reason in err. */
json_t *vmxctl_call(struct vm_live *v, const char *method, int timeout_ms, char *err,
		    size_t errlen);
/* Asks vmx for its vCPU 0 thread id (query's vcpu_tids); the pid where
 * vmx does not say. */
long long vmxctl_world_id(struct vm_live *v);

/* ---- vmx_process.c ---- */

/* The vmx binary: $VMK_VMX, else beside vmkd (installed) or in the build
 * tree (../vmm/vmx). */
const char *vmx_binary(void);
/* Starts vmx for c in its own session and cgroup, stdout and stderr into
 * vmware.log in the VM's folder.  The pid, or -1 with err. */
pid_t vmx_spawn(const struct vm_live *v, const struct vmx_vm_config *c, const char *vm_dir,
		const char *cgroup_procs[], char *err, size_t errlen);
/* The last line vmx wrote to vmware.log (its error, usually). */
void vmx_log_tail(const char *vmx_path, char *buf, size_t len);

/* ---- cgroup.c ---- */

#define VM_CGROUP_MAX 2
struct vm_cgroup {
	unsigned n;				/* directories made */
	char dir[VM_CGROUP_MAX][PATH_MAX];
	char procs[VM_CGROUP_MAX][PATH_MAX];	/* the file the child joins by (cgroup.c) */
};
/* Makes vmk.<instance>/vm<vmid> (v2) or cpu/ and memory/ ones (v1) and
 * applies c's sched.* settings.  0, or -1 with err (nothing left). */
int vm_cgroup_create(long long vmid, const struct vmx_sched *s, unsigned vcpus,
		     struct vm_cgroup *cg, char *err, size_t errlen);
/* The processes in the VM's cgroup(s), at most max of them, no pid
 * twice; 0 without cgroups. */
int vm_cgroup_pids(long long vmid, pid_t *pids, int max);
/* Removes the VM's cgroup directories (they must be empty of tasks). */
void vm_cgroup_remove(long long vmid);
/* "v1", "v2" or "none": what this machine has. */
const char *vm_cgroup_kind(void);

/* ---- power.c, inventory.c, process.c, netvm.c ---- */

void power_register(void);
void inventory_register(void);
void process_register(void);
void netvm_register(void);
/* Attaches the external VM ports of the store (at start). */
void netvm_attach_external(void);

/* Loads and checks the .vmx of a registered VM.  0, or -1 with err naming
 * the file, the line and the key. */
int vm_load_config(const char *vmx_path, struct vmx_vm_config *c, char *err, size_t errlen);
/* The vmid param as given (vim-cmd passes it as a string or number);
 * -1 if absent or not a number. */
long long vm_param_vmid(json_t *params);

/* The registered VM of the request: its vmid and .vmx path; false after
 * api_fail (a missing or bad vmid, or no such VM), the errors every
 * vmsvc command gives. */
bool vm_row(json_t *params, long long *vmid, char *path, size_t len);
/* "<op> failed: (vim.fault.InvalidPowerState) ...": the VM is on (on) or
 * off; NULL after api_fail. */
json_t *vm_invalid_state(const char *op, bool on);
/* The running VM of the request (params' vmid); NULL after api_fail:
 * unknown VM, or InvalidPowerState naming op when it is off. */
struct vm_live *vm_running(json_t *params, const char *op);

/* ---- view.c: what the inventory shows of each VM ---- */

struct vm_view_nic {
	unsigned index;			/* ethernetN */
	char network[VMX_NAME_MAX];	/* networkName: the port group */
	uint8_t mac[6];
	bool start_connected;
};

struct vm_view {
	long long vmid;
	char display_name[VMX_NAME_MAX];
	char guest_os[VMX_NAME_MAX];
	char annotation[VMX_ANNOTATION_MAX];
	unsigned hw_version, memsize_mb, numvcpus, nr_disks;
	uint8_t uuid_bios[16];
	unsigned nr_nics;
	struct vm_view_nic nics[VMXFILE_MAX_NICS];
};

/* The view of the VM: the one kept, else its .vmx read now (a vmkd that
 * restarted); NULL when there is none and the file does not parse. */
const struct vm_view *vm_view_get(long long vmid, const char *vmx_path);
/* The view kept, without reading the file; NULL when there is none. */
const struct vm_view *vm_view_find(long long vmid);
/* Sets the view from a checked configuration.  0, or -1 (out of memory,
 * the old view kept). */
int vm_view_set(long long vmid, const struct vmx_vm_config *c);
void vm_view_drop(long long vmid);
void vm_view_free_all(void);

/* ---- guest.c ---- */

void guest_register(void);

/* ---- adopt.c ---- */

/* For each runtime row: re-adopt a vmx that still runs, clear the others;
 * then stop the vmx processes that no row records (a power-on cut short
 * before its commit) and remove what they left. */
void vm_adopt_all(void);

#endif
