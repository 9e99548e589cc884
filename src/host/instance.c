/*
 * Instance paths and the single-instance lock.  The lock is an flock()
 * on the pid file; after taking it we check that the path still names
 * the file we locked (a stopping vmkd unlinks it), and retry if not, so
 * two daemons can never both hold the lock for one instance.
 */
#include "instance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > INSTANCE_NAME_MAX)
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_") == n;
}

static int path(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	int n = snprintf(buf, len, fmt, a, b);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int instance_init(struct instance *in, const char *name, char *err, size_t errlen)
{
	const char *root = getenv("VMK_ROOT");
	int bad = 0;

	if (!root)
		root = "";
	if (!name_ok(name)) {
		snprintf(err, errlen, "invalid instance name '%s': use 1 to %d letters, digits "
			 "or '_'", name, INSTANCE_NAME_MAX);
		return -1;
	}
	snprintf(in->name, sizeof(in->name), "%s", name);
	bad |= path(in->state_dir, PATH_MAX, "%s/var/lib/vmk/%s", root, name);
	bad |= path(in->run_dir, PATH_MAX, "%s/run/vmk/%s", root, name);
	if (strcmp(name, "default") == 0)
		bad |= path(in->log_dir, PATH_MAX, "%s/var/log%s", root, "");
	else
		bad |= path(in->log_dir, PATH_MAX, "%s/var/log/vmk/%s", root, name);
	bad |= path(in->db_path, PATH_MAX, "%s/%s", in->state_dir, "vmk.db");
	bad |= path(in->pid_path, PATH_MAX, "%s/%s", in->run_dir, "vmkd.pid");
	bad |= path(in->log_path, PATH_MAX, "%s/%s", in->log_dir, "vmkernel.log");
	bad |= path(in->sock_path, sizeof(in->sock_path), "%s/%s", in->run_dir, "vmkd.sock");
	if (bad) {
		snprintf(err, errlen, "the paths of instance '%s' are too long (VMK_ROOT '%s'; "
			 "a socket path has at most %zu bytes)", name, root,
			 sizeof(in->sock_path) - 1);
		return -1;
	}
	return 0;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return (mkdir(buf, mode) < 0 && errno != EEXIST) ? -1 : 0;
}

int instance_mkdirs(const struct instance *in, char *err, size_t errlen)
{
	const char *dirs[] = { in->state_dir, in->run_dir, in->log_dir };

	for (size_t i = 0; i < 3; i++) {
		if (mkdir_p(dirs[i], 0755) < 0) {
			snprintf(err, errlen, "cannot create %s: %s", dirs[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void running_pid(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* 1: locked and still the file at the path; 0: stale, retry; -1: error. */
static int try_lock(const struct instance *in, int fd, char *err, size_t errlen)
{
	struct stat a, b;
	char pid[32];

	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		running_pid(fd, pid, sizeof(pid));
		snprintf(err, errlen, "instance '%s' is already running (pid %s)", in->name,
			 pid[0] ? pid : "unknown");
		return -1;
	}
	if (fstat(fd, &a) < 0 || stat(in->pid_path, &b) < 0)
		return 0;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int instance_lock(const struct instance *in, char *err, size_t errlen)
{
	for (int tries = 0; tries < 10; tries++) {
		int fd = open(in->pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open %s: %s", in->pid_path, strerror(errno));
			return -1;
		}
		int r = try_lock(in, fd, err, errlen);
		if (r == 1) {
			char pid[32];
			int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
			if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
				snprintf(err, errlen, "cannot write %s", in->pid_path);
			return fd;
		}
		close(fd);
		if (r < 0)
			return -1;
	}
	snprintf(err, errlen, "cannot lock %s", in->pid_path);
	return -1;
}

void instance_cleanup(const struct instance *in)
{
	unlink(in->sock_path);
	unlink(in->pid_path);
}
