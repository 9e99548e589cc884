/*
 * Network namespaces (see netns.h for the contract).
 *
 * A named namespace is a file /run/netns/NAME on which a namespace is
 * bind-mounted; the mount keeps the namespace alive without any task in
 * it, and is what `ip netns` looks for.  To create one, a helper thread
 * unshares its network namespace and bind-mounts its own namespace file
 * (/proc/thread-self/ns/net: /proc/self would name the main thread's)
 * onto the name.  As iproute2 does, /run/netns is made a shared mount so
 * that mounting and unmounting a name propagate to mount namespaces that
 * were copied from ours (`ip netns exec` makes one for each command):
 * otherwise a deleted name would linger there and keep the namespace
 * alive.
 *
 * Everything that must happen inside another namespace runs in a thread
 * that calls setns(CLONE_NEWNET) and then exits, taking the namespace
 * switch with it.  The thread is joined before returning, so callers see
 * plain synchronous calls.
 */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* ---- running code inside a namespace ---- */

struct ns_job {
	int fd;                 /* namespace to enter, or -1 */
	int (*fn)(void *);
	void *arg;
	int ret;
};

static void *ns_thread(void *p)
{
	struct ns_job *job = p;
	if (job->fd >= 0 && setns(job->fd, CLONE_NEWNET) < 0)
		job->ret = -errno;
	else
		job->ret = job->fn(job->arg);
	return NULL;
}

/* Runs fn in a new thread (in namespace fd when fd >= 0) and waits. */
static int run_in_thread(int fd, int (*fn)(void *), void *arg)
{
	struct ns_job job = {.fd = fd, .fn = fn, .arg = arg, .ret = 0};
	pthread_t t;
	int err = pthread_create(&t, NULL, ns_thread, &job);
	if (err)
		return -err;
	pthread_join(t, NULL);
	return job.ret;
}

int netns_run(int fd, int (*fn)(void *arg), void *arg)
{
	if (fd < 0)
		return fn(arg);
	return run_in_thread(fd, fn, arg);
}

struct socket_args {
	int domain, type, proto;
};

static int make_socket(void *p)
{
	struct socket_args *a = p;
	int s = socket(a->domain, a->type, a->proto);
	return s < 0 ? -errno : s;
}

int netns_socket(int fd, int domain, int type, int proto)
{
	struct socket_args a = {domain, type, proto};
	return netns_run(fd, make_socket, &a);
}

/* ---- names ---- */

static int ns_path(const char *name, char *buf, size_t len)
{
	if (!name || !name[0] || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, "..") || strlen(name) > NAME_MAX)
		return -EINVAL;
	snprintf(buf, len, "%s/%s", NETNS_RUN_DIR, name);
	return 0;
}

static bool is_nsfs(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && st.f_type == NSFS_MAGIC;
}

/* Creates /run/netns as a shared mount point (see the file comment). */
static int ensure_run_dir(void)
{
	if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)    /* EINVAL: not a mount point yet */
		return -errno;
	if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
		return -errno;
	return 0;
}

/* The empty file a namespace is mounted on; replaces a stale one. */
static int make_mount_point(const char *path)
{
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST || is_nsfs(path))
			return -errno;
		if (unlink(path) < 0)
			return -errno;
	}
	return -EEXIST;
}

/* Thread body: a new namespace for this thread, pinned by a bind mount. */
static int bind_new_ns(void *path)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
		return -errno;
	return 0;
}

int netns_create(const char *name)
{
	char path[PATH_MAX];
	int r = ns_path(name, path, sizeof(path));
	if (r < 0)
		return r;
	if ((r = ensure_run_dir()) < 0)
		return r;
	if ((r = make_mount_point(path)) < 0)
		return r;
	r = run_in_thread(-1, bind_new_ns, path);
	if (r < 0)
		unlink(path);
	return r;
}

int netns_delete(const char *name)
{
	char path[PATH_MAX];
	int r = ns_path(name, path, sizeof(path));
	if (r < 0)
		return r;
	/* EINVAL: a stale file that is not mounted; unlink it anyway */
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		return -errno;
	return unlink(path) < 0 ? -errno : 0;
}

bool netns_exists(const char *name)
{
	char path[PATH_MAX];
	return ns_path(name, path, sizeof(path)) == 0 && is_nsfs(path);
}

/* ---- fds ---- */

int netns_open_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct statfs st;
	if (fstatfs(fd, &st) < 0 || st.f_type != NSFS_MAGIC) {
		close(fd);
		return -ENOENT;         /* a stale name, not a namespace */
	}
	return fd;
}

int netns_open(const char *name)
{
	char path[PATH_MAX];
	int r = ns_path(name, path, sizeof(path));
	return r < 0 ? r : netns_open_path(path);
}

int netns_open_self(void)
{
	return netns_open_path("/proc/self/ns/net");
}

bool netns_same(int fd_a, int fd_b)
{
	struct stat a, b;
	if (fstat(fd_a, &a) < 0 || fstat(fd_b, &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
