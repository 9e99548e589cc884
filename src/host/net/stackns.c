/*
 * TCP/IP stacks in the kernel (see stackns.h).  A small table of the
 * realized stacks, the first entry defaultTcpipStack (vmkd's namespace,
 * no fd of its own, the home netlink socket).  Names are
 * vmk-INSTANCE-STACK; creating one goes through netns_create(), which
 * leaves the new namespace's "lo" down, so it is brought up here: the
 * stack's own addresses (vmkping to an adapter of the stack) go over it.
 *
 * Names are made, opened and deleted in the mount namespace vmkd was
 * started from, not necessarily vmkd's own: `ip netns exec NS vmkd` runs
 * vmkd in a mount namespace of its own (a slave copy) whose mounts do
 * not propagate back, and a name bind-mounted there would be an empty
 * file for everyone else (`ip netns exec vmk-...`, vmkping, esxcli diag
 * ping).  So when vmkd's parent (the shell or test that ran `ip netns
 * exec`, which execs vmkd in its place) has another mount namespace,
 * stackns_init keeps an fd of it, and a short-lived thread unshares its
 * filesystem context, enters that namespace and does the work there.
 * Where that is not possible, vmkd's own mount namespace is used.
 */
#include "stackns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns.h"
#include "vmklog.h"

#define STACKS_MAX 256

static struct stackns stacks[STACKS_MAX];
static int nr_stacks;
static char prefix[64]; /* "vmk-INSTANCE-" */
static int host_mnt = -1; /* the mount namespace names live in, if not ours */
static uint32_t tap_group;

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- the machine's mount namespace ---- */

struct mnt_job {
	int fd;
	int (*fn)(void *);
	void *arg;
	int ret;
	bool entered;
};

static void *mnt_thread(void *p)
{
	struct mnt_job *j = p;

	if (unshare(CLONE_FS) == 0 && setns(j->fd, CLONE_NEWNS) == 0) {
		j->entered = true;
		j->ret = j->fn(j->arg);
	}
	return NULL;
}

/* Runs fn(arg) in the mount namespace of the names, or here when that
 * is ours or cannot be entered. */
static int in_host_mounts(int (*fn)(void *), void *arg)
{
	struct mnt_job job = { .fd = host_mnt, .fn = fn, .arg = arg };
	pthread_t t;

	if (host_mnt < 0 || pthread_create(&t, NULL, mnt_thread, &job) != 0)
		return fn(arg);
	pthread_join(t, NULL);
	return job.entered ? job.ret : fn(arg);
}

/* The parent's mount namespace if it is not ours, else -1. */
static int parent_mounts(void)
{
	char path[64];
	struct stat self, parent;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)getppid());
	if (stat("/proc/self/ns/mnt", &self) < 0 || stat(path, &parent) < 0 ||
	    (self.st_ino == parent.st_ino && self.st_dev == parent.st_dev))
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

static void ns_name(const char *stack, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", prefix, stack);
}

/* FNV-1a of the prefix, folded into [0x10000, 0x7fffffff]. */
static uint32_t group_of(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return 0x10000u + h % (0x80000000u - 0x10000u);
}

uint32_t stackns_tap_group(void)
{
	return tap_group;
}

int stackns_init(const char *instance, char *err, size_t errlen)
{
	snprintf(prefix, sizeof(prefix), "vmk-%s-", instance);
	tap_group = group_of(prefix);
	host_mnt = parent_mounts();
	if (host_mnt >= 0)
		vmklog("Netstack", "netstack namespace names are made in the mount namespace "
		       "vmkd was started from");
	struct nl *home = nl_open(-1);
	if (!home)
		return fail(err, errlen, -errno, "cannot open netlink: %s", strerror(errno));
	stacks[0] = (struct stackns){ .name = DEFAULT_STACK, .fd = -1, .nl = home };
	nr_stacks = 1;
	return 0;
}

const struct stackns *stackns_get(const char *name)
{
	for (int i = 0; i < nr_stacks; i++)
		if (strcmp(stacks[i].name, name) == 0)
			return &stacks[i];
	return NULL;
}

struct nl *stackns_home(void)
{
	return stacks[0].nl;
}

struct open_job {
	const char *ns;
	bool reused, created;
};

/* The existing name, or a new one; an fd of the namespace. */
static int open_or_create(void *p)
{
	struct open_job *j = p;

	j->reused = netns_exists(j->ns);
	if (!j->reused) {
		int r = netns_create(j->ns);
		if (r < 0)
			return r;
		j->created = true;
	}
	return netns_open(j->ns);
}

static int delete_name(void *ns)
{
	return netns_delete(ns);
}

/* The stack's namespace: the existing name, or a new one. */
static int open_ns(const char *ns, char *err, size_t errlen)
{
	struct open_job job = { .ns = ns };
	int fd = in_host_mounts(open_or_create, &job);

	if (fd < 0 && job.created)
		in_host_mounts(delete_name, (void *)ns);
	if (fd < 0)
		return fail(err, errlen, fd, "cannot %s namespace %s: %s",
			    job.reused ? "open" : "create", ns, strerror(-fd));
	if (job.reused)
		vmklog("Netstack", "reusing the namespace %s left from an earlier run", ns);
	return fd;
}

static int loopback_up(struct nl *nl, char *err, size_t errlen)
{
	int idx = nl_link_index(nl, "lo");
	int r = idx < 0 ? idx : nl_link_set_up(nl, idx, true);
	return r < 0 ? fail(err, errlen, r, "%s", nl_error(nl)) : 0;
}

int stackns_realize(const char *name, char *err, size_t errlen)
{
	char ns[NAME_MAX + 1];

	if (stackns_get(name))
		return 0;
	if (nr_stacks == STACKS_MAX)
		return fail(err, errlen, -ENOSPC, "too many netstacks (%d)", STACKS_MAX);
	ns_name(name, ns, sizeof(ns));
	int fd = open_ns(ns, err, errlen);
	if (fd < 0)
		return fd;
	struct nl *nl = nl_open(fd);
	if (!nl) {
		int r = -errno;
		close(fd);
		return fail(err, errlen, r, "cannot open netlink in %s: %s", ns, strerror(-r));
	}
	int r = loopback_up(nl, err, errlen);
	if (r < 0) {
		nl_close(nl);
		close(fd);
		return r;
	}
	struct stackns *s = &stacks[nr_stacks++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->fd = fd;
	s->nl = nl;
	return 0;
}

static void release(struct stackns *s)
{
	nl_close(s->nl);
	if (s->fd >= 0)
		close(s->fd);
	s->nl = NULL;
	s->fd = -1;
}

int stackns_remove(const char *name, char *err, size_t errlen)
{
	struct stackns *s = (struct stackns *)stackns_get(name);
	char ns[NAME_MAX + 1];

	if (!s || s == &stacks[0])
		return fail(err, errlen, -EINVAL, "netstack %s is not removable", name);
	release(s);
	*s = stacks[--nr_stacks];
	ns_name(name, ns, sizeof(ns));
	int r = in_host_mounts(delete_name, ns);
	return r < 0 && r != -ENOENT ? fail(err, errlen, r, "cannot delete namespace %s: %s",
					    ns, strerror(-r)) : 0;
}

struct sysctl_job {
	const char *key, *value;
};

static int write_sysctl(void *p)
{
	struct sysctl_job *j = p;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/proc/sys/net/%s", j->key);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, j->value, strlen(j->value));
	int r = n < 0 ? -errno : 0;
	close(fd);
	return r;
}

int stackns_sysctl(const char *name, const char *key, const char *value)
{
	const struct stackns *s = stackns_get(name);
	struct sysctl_job job = { key, value };

	return s ? netns_run(s->fd, write_sysctl, &job) : -ENOENT;
}

/* True if namespace name ns is one of ours that is not realized. */
static bool stale(const char *ns)
{
	size_t n = strlen(prefix);

	return strncmp(ns, prefix, n) == 0 && ns[n] && !stackns_get(ns + n);
}

static int prune(void *arg)
{
	struct dirent **names = NULL;
	int count = scandir(NETNS_RUN_DIR, &names, NULL, alphasort), pruned = 0;

	(void)arg;
	for (int i = 0; i < count; i++) {
		if (stale(names[i]->d_name) && netns_delete(names[i]->d_name) == 0) {
			vmklog("Netstack", "deleted the namespace %s: no such netstack",
			       names[i]->d_name);
			pruned++;
		}
		free(names[i]);
	}
	free(names);
	return pruned;
}

int stackns_prune(void)
{
	return in_host_mounts(prune, NULL);
}

void stackns_shutdown(void)
{
	for (int i = 0; i < nr_stacks; i++)
		release(&stacks[i]);
	nr_stacks = 0;
	if (host_mnt >= 0)
		close(host_mnt);
	host_mnt = -1;
}
