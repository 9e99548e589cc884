/*
 * The vCPU threads' seccomp filter (sandbox.h says why and where).
 *
 * libseccomp builds the filter once from the allowlist below and exports
 * it as classic BPF; each vCPU thread loads that program into itself with
 * seccomp(SECCOMP_SET_MODE_FILTER), without TSYNC, so that the other
 * threads keep their rights.  Arguments are checked where a call could
 * otherwise widen what the thread can do: ioctl only with the requests
 * vmx's exit handlers make, mmap and mprotect never with PROT_EXEC.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif
#ifndef SANITIZER_BUILD
#define SANITIZER_BUILD 0
#endif

/* What an exit handler may do: I/O on the fds vmx opened, the vhost-user
 * messages of DRIVER_OK, waking and kicking other threads, memory for
 * malloc, time, and ending the thread or the VM. */
static const int allowed_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(fcntl), SCMP_SYS(fstat),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(epoll_ctl),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	SCMP_SYS(futex), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigaction), SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(sched_yield),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* The ioctls of exit handlers: running, interrupt lines, the registers
 * of an error report, TAP offloads the guest negotiated.  Not the
 * eventfd wiring (KVM_IRQFD, KVM_IOEVENTFD): vmx makes it at set-up, and
 * a thread that could redo it could rewire the VM's doorbells. */
static const unsigned long allowed_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_GET_REGS, TUNSETOFFLOAD,
};

static struct sock_fprog program;
static unsigned int nr_allowed;
static bool built;

static const char *const forbidden_msg = "vmx: sandbox: a vCPU thread made system call ";
static const char *const forbidden_tail = ", which it may not make: stopping the VM\n";

static size_t format_uint(char *buf, unsigned int v)
{
	char tmp[12];
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[len++] = tmp[--n];
	return len;
}

/* Async-signal-safe: one write, then the default action (core, exit). */
static void on_forbidden(int sig, siginfo_t *si, void *uctx)
{
	char line[160];
	size_t n = strlen(forbidden_msg);

	(void)uctx;
	memcpy(line, forbidden_msg, n);
	n += format_uint(line + n, (unsigned int)si->si_syscall);
	memcpy(line + n, forbidden_tail, strlen(forbidden_tail));
	n += strlen(forbidden_tail);
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing more can be said */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int allow_plain(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(allowed_calls) / sizeof(allowed_calls[0]); i++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_calls[i], 0) < 0)
			return -1;
		nr_allowed++;
	}
	return 0;
}

static int allow_if(scmp_filter_ctx ctx, int call, unsigned int arg, enum scmp_compare op,
		    scmp_datum_t a, scmp_datum_t b)
{
	const struct scmp_arg_cmp cmp = { .arg = arg, .op = op, .datum_a = a, .datum_b = b };

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call, 1, &cmp);
}

static int allow_checked(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++)
		if (allow_if(ctx, SCMP_SYS(ioctl), 1, SCMP_CMP_EQ, allowed_ioctls[i], 0) < 0)
			return -1;
	if (allow_if(ctx, SCMP_SYS(mmap), 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) < 0 ||
	    allow_if(ctx, SCMP_SYS(mprotect), 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) < 0)
		return -1;
	/* glibc's fstat(fd) is newfstatat(fd, "", AT_EMPTY_PATH): no path */
	if (allow_if(ctx, SCMP_SYS(newfstatat), 3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH,
		     AT_EMPTY_PATH) < 0)
		return -1;
	nr_allowed += 4;
	return 0;
}

/* Classic BPF out of libseccomp, through a memfd (libseccomp 2.5 exports
 * to an fd only). */
static int export_program(scmp_filter_ctx ctx)
{
	int fd = memfd_create("vmx-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	off_t size = -1;
	if (seccomp_export_bpf(ctx, fd) == 0)
		size = lseek(fd, 0, SEEK_END);
	struct sock_filter *f = size > 0 ? malloc((size_t)size) : NULL;
	if (!f || pread(fd, f, (size_t)size, 0) != size) {
		free(f);
		close(fd);
		return -1;
	}
	close(fd);
	program.len = (unsigned short)((size_t)size / sizeof(*f));
	program.filter = f;
	return 0;
}

int sandbox_init(char *err, size_t errlen)
{
	if (built)
		return 0;
	uint32_t refuse = SANITIZER_BUILD ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
	scmp_filter_ctx ctx = seccomp_init(refuse);
	/* a call through another ABI (int 0x80, x32) stops the VM too, rather
	 * than libseccomp's default of killing the one thread */
	if (ctx && seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, refuse) < 0) {
		seccomp_release(ctx);
		ctx = NULL;
	}
	if (!ctx) {
		snprintf(err, errlen, "sandbox: cannot start a seccomp filter");
		return -1;
	}
	int r = allow_plain(ctx) < 0 || allow_checked(ctx) < 0 ? -1 : export_program(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		snprintf(err, errlen, "sandbox: cannot build the seccomp filter");
		return -1;
	}
	built = true;
	return 0;
}

int sandbox_enter(void)
{
	if (!built)
		return -EINVAL;
	/* process-wide, set again by each thread: nothing else may have it */
	struct sigaction sa = { .sa_sigaction = on_forbidden, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	/* the thread's own flag: the main thread may still gain rights by
	 * re-executing vmx */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0)
		return -errno;
	return 0;
}

const char *sandbox_mode(void)
{
	if (!built)
		return "off";
	return SANITIZER_BUILD ? "log only (sanitizer build)" : "enforcing";
}

unsigned int sandbox_allowed(void)
{
	return nr_allowed;
}
