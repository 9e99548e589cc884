/*
 * Each VM's cgroup: the reference gives every VM a resource pool entry
 * with shares, a reservation and a limit for CPU and memory; vmk puts each
 * vmx in a cgroup of its own and maps the .vmx's sched.* keys onto it.
 *
 *   cgroup v2 (/sys/fs/cgroup/cgroup.controllers exists; see cgroup_version
 *   for where vmkd finds /sys/fs/cgroup):
 *       /sys/fs/cgroup/vmk.<instance>/vm<vmid>
 *   cgroup v1 (the cpu and memory hierarchies mounted separately):
 *       /sys/fs/cgroup/cpu/vmk.<instance>/vm<vmid>
 *       /sys/fs/cgroup/memory/vmk.<instance>/vm<vmid>
 *
 *   sched.cpu.shares  -> cpu.shares = shares * 1024 / 1000 (v1: normal, 1000
 *                        per vCPU, is Linux's default 1024 per vCPU), or
 *                        cpu.weight = shares / 10 (v2: normal = 100), clamped
 *   sched.cpu.max     -> CFS quota: quota/period = max MHz / the host's MHz per
 *                        core (cpu.cfs_quota_us, or cpu.max)
 *   sched.cpu.min     -> Linux has no CPU reservation: the weight is raised to
 *                        at least what the reserved MHz are worth in cores
 *                        (1024 or 100 per core's MHz), so that under contention
 *                        the VM gets at least about that share
 *   sched.mem.max     -> memory.limit_in_bytes (v1), memory.max (v2)
 *   sched.mem.minsize -> memory.min (v2: protected from reclaim), or
 *                        memory.soft_limit_in_bytes (v1: the closest, it is
 *                        reclaimed last down to it)
 *
 * The child joins the cgroups itself before it execs vmx (vmx_process.c);
 * the directories go when the VM stops.  A machine without these
 * hierarchies, or where vmkd may not write them, runs VMs without a
 * cgroup and says so in vmkernel.log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"
#include "vmklog.h"

#define CFS_PERIOD_US 100000ULL

/* Where the hierarchies are.  `ip netns exec` gives vmkd a fresh sysfs in
 * a mount namespace of its own, without the cgroup mounts below
 * /sys/fs/cgroup: then they are reached through the root of the parent's
 * (or the first process's) mount namespace, /proc/PID/root, where the
 * machine mounted them.  The place found is held open (O_PATH) and named
 * /proc/self/fd/N from then on, so it stays valid when the parent exits,
 * and vmx's child reaches it through the same inherited fd.
 * $VMK_CGROUP_ROOT names another place. */
static char cg_root[PATH_MAX];
static int cg_version = -1;

static int version_at(const char *root)
{
	char a[PATH_MAX + 32], b[PATH_MAX + 32];

	snprintf(a, sizeof(a), "%s/cgroup.controllers", root);
	if (access(a, F_OK) == 0)
		return 2;
	snprintf(a, sizeof(a), "%s/cpu/cgroup.procs", root);
	snprintf(b, sizeof(b), "%s/memory/cgroup.procs", root);
	return access(a, F_OK) == 0 && access(b, F_OK) == 0 ? 1 : 0;
}

static int cgroup_version(void)
{
	const char *env = getenv("VMK_CGROUP_ROOT");
	char parent[64];
	const char *roots[] = { env && env[0] ? env : "/sys/fs/cgroup", parent,
				"/proc/1/root/sys/fs/cgroup" };

	if (cg_version >= 0)
		return cg_version;
	snprintf(parent, sizeof(parent), "/proc/%d/root/sys/fs/cgroup", (int)getppid());
	cg_version = 0;
	for (unsigned i = 0; i < 3 && !cg_version; i++) {
		int fd = open(roots[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		snprintf(cg_root, sizeof(cg_root), "/proc/self/fd/%d", fd);
		if (!(cg_version = version_at(cg_root)))
			close(fd);
	}
	return cg_version;
}
#define CG_ROOT cg_root

const char *vm_cgroup_kind(void)
{
	static const char *kinds[] = { "none", "v1", "v2" };
	return kinds[cgroup_version()];
}

/* The MHz of one core, from /proc/cpuinfo; 1000 if it does not say. */
static unsigned host_mhz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256];
	double mhz = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "cpu MHz", 7) == 0 && sscanf(strchr(line, ':') + 1, "%lf",
							      &mhz) == 1)
			break;
	if (f)
		fclose(f);
	return mhz >= 1 ? (unsigned)mhz : 1000;
}

static int write_file(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX + 64];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	if (write(fd, value, strlen(value)) < 0)
		rc = -1;
	close(fd);
	return rc;
}

static int write_num(const char *dir, const char *file, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	return write_file(dir, file, buf);
}

static void dir_of(char *buf, size_t len, const char *controller, long long vmid)
{
	cgroup_version();
	VM_FMT(buf, len, "%s%s%s/vmk.%s/vm%lld", CG_ROOT, controller[0] ? "/" : "", controller,
	       vm_instance->name, vmid);
}

/* Makes <base>/vmk.<instance> and <base>/vmk.<instance>/vm<vmid>. */
static int make_dir(const char *dir)
{
	char parent[PATH_MAX];

	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* The weight shares and the reservation ask for, in units where one
 * core's worth is `per_core` (1024 for v1 shares, 100 for v2 weight). */
static unsigned long long weight(const struct vmx_sched *s, unsigned vcpus, unsigned per_core,
				 unsigned long long lo, unsigned long long hi)
{
	unsigned long long w = s->cpu_shares ? (unsigned long long)s->cpu_shares * per_core / 1000
					     : (unsigned long long)vcpus * per_core;
	unsigned long long floor_w = (unsigned long long)s->cpu_min_mhz * per_core / host_mhz();

	if (w < floor_w)
		w = floor_w;
	return w < lo ? lo : w > hi ? hi : w;
}

static unsigned long long quota_us(const struct vmx_sched *s)
{
	unsigned long long q = CFS_PERIOD_US * s->cpu_max_mhz / host_mhz();
	return q < 1000 ? 1000 : q;
}

static int apply_v1(const char *cpu, const char *mem, const struct vmx_sched *s, unsigned vcpus)
{
	int rc = write_num(cpu, "cpu.shares", weight(s, vcpus, 1024, 2, 262144));

	if (s->cpu_max_mhz)
		rc |= write_num(cpu, "cpu.cfs_period_us", CFS_PERIOD_US) |
		      write_num(cpu, "cpu.cfs_quota_us", quota_us(s));
	if (s->mem_max_mb)
		rc |= write_num(mem, "memory.limit_in_bytes", (unsigned long long)s->mem_max_mb << 20);
	if (s->mem_min_mb)
		rc |= write_num(mem, "memory.soft_limit_in_bytes",
				(unsigned long long)s->mem_min_mb << 20);
	return rc;
}

static int apply_v2(const char *dir, const struct vmx_sched *s, unsigned vcpus)
{
	char max[PATH_MAX + 8];
	int rc = 0;

	write_file(CG_ROOT, "cgroup.subtree_control", "+cpu +memory");
	VM_FMT(max, sizeof(max), "%s/..", dir);
	write_file(max, "cgroup.subtree_control", "+cpu +memory");
	rc |= write_num(dir, "cpu.weight", weight(s, vcpus, 100, 1, 10000));
	if (s->cpu_max_mhz) {
		snprintf(max, sizeof(max), "%llu %llu", quota_us(s), CFS_PERIOD_US);
		rc |= write_file(dir, "cpu.max", max);
	}
	if (s->mem_max_mb)
		rc |= write_num(dir, "memory.max", (unsigned long long)s->mem_max_mb << 20);
	if (s->mem_min_mb)
		rc |= write_num(dir, "memory.min", (unsigned long long)s->mem_min_mb << 20);
	return rc;
}

int vm_cgroup_create(long long vmid, const struct vmx_sched *s, unsigned vcpus,
		     struct vm_cgroup *cg, char *err, size_t errlen)
{
	int version = cgroup_version(), rc;
	static const char *v1[] = { "cpu", "memory" };

	*cg = (struct vm_cgroup){ 0 };
	if (version == 0)
		return 0;
	vm_cgroup_remove(vmid);	/* a leftover of a VM that died with vmkd */
	for (unsigned i = 0; i < (version == 1 ? 2u : 1u); i++) {
		dir_of(cg->dir[i], sizeof(cg->dir[i]), version == 1 ? v1[i] : "", vmid);
		if (make_dir(cg->dir[i]) < 0) {
			snprintf(err, errlen, "cannot create cgroup %s: %s", cg->dir[i],
				 strerror(errno));
			vm_cgroup_remove(vmid);
			return -1;
		}
		/* The child joins by writing "0" before it execs vmx, while it
		 * is single-threaded.  On v1 it writes "tasks" (its one thread):
		 * the kernel moves the calling thread without taking the global
		 * threadgroup lock, whose writer waits for an RCU grace period
		 * (7-15 ms here, most of a power-on) on "cgroup.procs". */
		VM_FMT(cg->procs[i], sizeof(cg->procs[i]), "%s/%s", cg->dir[i],
		       version == 1 ? "tasks" : "cgroup.procs");
		cg->n++;
	}
	rc = version == 1 ? apply_v1(cg->dir[0], cg->dir[1], s, vcpus) : apply_v2(cg->dir[0], s, vcpus);
	if (rc) {
		snprintf(err, errlen, "cannot apply the sched.* settings to cgroup %s: %s",
			 cg->dir[0], strerror(errno));
		vm_cgroup_remove(vmid);
		return -1;
	}
	return 0;
}

static int read_pids(const char *dir, pid_t *pids, int n, int max)
{
	char path[PATH_MAX + 16];
	long pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (!(f = fopen(path, "re")))
		return n;
	while (n < max && fscanf(f, "%ld", &pid) == 1) {
		bool seen = false;
		for (int i = 0; i < n; i++)
			seen |= pids[i] == (pid_t)pid;
		if (!seen && pid > 0)
			pids[n++] = (pid_t)pid;
	}
	fclose(f);
	return n;
}

int vm_cgroup_pids(long long vmid, pid_t *pids, int max)
{
	char dir[PATH_MAX];
	int n = 0;

	if (cgroup_version() == 2) {
		dir_of(dir, sizeof(dir), "", vmid);
		return read_pids(dir, pids, 0, max);
	}
	if (cgroup_version() == 0)
		return 0;
	dir_of(dir, sizeof(dir), "cpu", vmid);
	n = read_pids(dir, pids, n, max);
	dir_of(dir, sizeof(dir), "memory", vmid);
	return read_pids(dir, pids, n, max);
}

/* rmdir, retrying a little: a task that just exited may still be
 * counted for a moment. */
static void remove_dir(const char *dir)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 50; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			break;
		if (errno != EBUSY) {
			vmklog_warn("VMX", "cannot remove cgroup %s: %s", dir, strerror(errno));
			return;
		}
		nanosleep(&ts, NULL);
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	rmdir(parent);	/* vmk.<instance> goes with its last VM */
}

void vm_cgroup_remove(long long vmid)
{
	char dir[PATH_MAX];

	if (cgroup_version() == 2) {
		dir_of(dir, sizeof(dir), "", vmid);
		remove_dir(dir);
		return;
	}
	dir_of(dir, sizeof(dir), "cpu", vmid);
	remove_dir(dir);
	dir_of(dir, sizeof(dir), "memory", vmid);
	remove_dir(dir);
}
