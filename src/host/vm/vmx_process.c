/*
 * Starting vmx for a VM.  The argv comes from the checked .vmx
 * (struct vmx_vm_config):
 *
 *   vmx --kernel K [--initrd I] [--cmdline C] --cpus N --memory MB
 *       [--disk PATH[,ro]]... [--net vhost-user=<run>/ethernetN.sock,mac=M]...
 *       --serial file:PATH|unix:PATH|none --control <run>/control.sock
 *       [--debug-exit] --on-reset restart
 *
 * A guest reboot keeps the VM powered on, as on the reference
 * (--on-reset restart re-executes vmx under the same pid).  vmx runs in a
 * session of its own (setsid), so that it outlives vmkd and no signal
 * meant for vmkd's terminal reaches it, in the VM's cgroups (the child
 * writes "0" into each cgroup: itself, see cgroup.c), with its stdout and stderr
 * appended to vmware.log beside the .vmx, as the reference keeps
 * vmware.log in the VM's folder.  The log of the previous run is kept as
 * vmware-1.log (up to vmware-6.log, as the reference rotates).
 *
 * Between fork and exec the child runs only async-signal-safe calls
 * (vmkd has other threads): everything it needs is prepared before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"
#include "vmklog.h"
#include "vmmac.h"

#define MAX_ARGS (32 + 2 * (VMXFILE_MAX_DISKS + VMXFILE_MAX_NICS))
#define OLD_LOGS 6

const char *vmx_binary(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	const char *env = getenv("VMK_VMX");

	if (env && env[0])
		return env;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return "vmx";
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	VM_FMT(path, sizeof(path), "%s/../vmm/vmx", self);	/* the build tree */
	if (access(path, X_OK) == 0)
		return path;
	VM_FMT(path, sizeof(path), "%s/vmx", self);		/* installed beside vmkd */
	return path;
}

static void log_path(const char *vmx_path, int n, char *buf, size_t len)
{
	const char *slash = strrchr(vmx_path, '/');
	int dirlen = slash ? (int)(slash - vmx_path) : 1;

	if (n == 0)
		snprintf(buf, len, "%.*s/vmware.log", dirlen, slash ? vmx_path : ".");
	else
		snprintf(buf, len, "%.*s/vmware-%d.log", dirlen, slash ? vmx_path : ".", n);
}

static void rotate_logs(const char *vmx_path)
{
	char from[PATH_MAX], to[PATH_MAX];

	for (int i = OLD_LOGS; i > 0; i--) {
		log_path(vmx_path, i - 1, from, sizeof(from));
		log_path(vmx_path, i, to, sizeof(to));
		rename(from, to);
	}
}

/* vmware.log lies in a folder its users may write: a FIFO or a symbolic
 * link planted there must neither block vmkd nor make it write elsewhere.
 * The fd, or -1. */
static int open_log(const char *path, int flags)
{
	struct stat st;
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

void vmx_log_tail(const char *vmx_path, char *buf, size_t len)
{
	char path[PATH_MAX], data[4096];
	int fd;

	buf[0] = '\0';
	log_path(vmx_path, 0, path, sizeof(path));
	if ((fd = open_log(path, O_RDONLY)) < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t at = end > (off_t)sizeof(data) - 1 ? end - (off_t)sizeof(data) + 1 : 0;
	ssize_t n = pread(fd, data, sizeof(data) - 1, at);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	data[n] = '\0';
	char *line = strrchr(data, '\n');
	line = line ? line + 1 : data;
	/* Guest-influenced bytes never reach vmkernel.log unfiltered. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	snprintf(buf, len, "%s", line);
}

struct argv_buf {
	char *argv[MAX_ARGS];
	int n;
	bool overflow;
};

static void arg(struct argv_buf *a, const char *s)
{
	if (a->n >= MAX_ARGS - 1 || !(a->argv[a->n] = strdup(s))) {
		a->overflow = true;
		return;
	}
	a->n++;
}

static void argf(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void argf(struct argv_buf *a, const char *fmt, ...)
{
	char buf[VMX_CMDLINE_LEN + 64];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		a->overflow = true;
	else
		arg(a, buf);
}

static void build_argv(struct argv_buf *a, const struct vm_live *v, const struct vmx_vm_config *c)
{
	char mac[18];

	arg(a, vmx_binary());
	arg(a, "--kernel");
	arg(a, c->kernel);
	if (c->initrd[0]) {
		arg(a, "--initrd");
		arg(a, c->initrd);
	}
	if (c->cmdline[0]) {
		arg(a, "--cmdline");
		arg(a, c->cmdline);
	}
	arg(a, "--cpus");
	argf(a, "%u", c->numvcpus);
	arg(a, "--memory");
	argf(a, "%uM", c->memsize_mb);
	for (unsigned i = 0; i < c->nr_disks; i++) {
		arg(a, "--disk");
		argf(a, "%s%s", c->disks[i].path, c->disks[i].readonly ? ",ro" : "");
	}
	for (unsigned i = 0; i < v->nr_nics; i++) {
		vmx_mac_format(v->nics[i].mac, mac);
		arg(a, "--net");
		argf(a, "vhost-user=%s,mac=%s", v->nics[i].sock, mac);
	}
	arg(a, "--serial");
	if (c->serial_type == VMX_SERIAL_FILE)
		argf(a, "file:%s", c->serial_path);
	else if (c->serial_type == VMX_SERIAL_PIPE)
		argf(a, "unix:%s", c->serial_path);
	else
		arg(a, "none");
	arg(a, "--control");
	arg(a, v->ctl_path);
	if (c->debug_exit)
		arg(a, "--debug-exit");
	arg(a, "--on-reset");
	arg(a, "restart");
	a->argv[a->n] = NULL;
}

static void free_argv(struct argv_buf *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->argv[i]);
}

/* A header line in vmware.log: when, and the command line. */
static void log_header(int fd, const struct vm_live *v, const struct argv_buf *a)
{
	char buf[8192];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%03ldZ vmkd: powering on VM %lld:",
			      ts.tv_nsec / 1000000, v->vmid);
	for (int i = 0; i < a->n && n < sizeof(buf) - 2; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s", a->argv[i]);
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(fd, buf, n) < 0)
		return;
}

/* The child: nothing but async-signal-safe calls until exec. */
static __attribute__((noreturn)) void child(int logfd, const char *const procs[],
					    char *const argv[])
{
	static const char msg[] = "vmkd: cannot execute vmx\n";
	sigset_t none;

	setsid();
	for (unsigned i = 0; procs && procs[i]; i++) {
		int fd = open(procs[i], O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "0", 1) < 0) {
				/* runs without that cgroup; vmkd checks afterwards */
			}
			close(fd);
		}
	}
	int nul = open("/dev/null", O_RDONLY);
	if (nul >= 0)
		dup2(nul, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	syscall(SYS_close_range, 3, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], argv);
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(127);
	_exit(127);
}

pid_t vmx_spawn(const struct vm_live *v, const struct vmx_vm_config *c, const char *vm_dir,
		const char *cgroup_procs[], char *err, size_t errlen)
{
	struct argv_buf a = { 0 };
	char logp[PATH_MAX];
	pid_t pid = -1;

	(void)vm_dir;
	build_argv(&a, v, c);
	if (a.overflow) {
		snprintf(err, errlen, "the command line of vmx is too long");
		goto out;
	}
	rotate_logs(v->vmx_path);
	log_path(v->vmx_path, 0, logp, sizeof(logp));
	int logfd = open_log(logp, O_WRONLY | O_CREAT | O_APPEND);
	if (logfd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", logp,
			 errno == EINVAL || errno == ELOOP ? "not a regular file" : strerror(errno));
		goto out;
	}
	log_header(logfd, v, &a);
	pid = fork();
	if (pid == 0)
		child(logfd, cgroup_procs, a.argv);
	if (pid < 0)
		snprintf(err, errlen, "cannot start vmx: %s", strerror(errno));
	close(logfd);
out:
	free_argv(&a);
	return pid;
}
