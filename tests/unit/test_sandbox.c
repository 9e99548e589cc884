/*
 * vmx's vCPU sandbox (src/vmm/sandbox.c): a thread that entered it may
 * still make the calls of exit handlers (I/O on fds opened before, the
 * allowed ioctls, anonymous memory, malloc) and is stopped, with one line
 * naming the call, at the first one it may not make (a socket, a file
 * opened, executable memory, another ioctl, a new program).  Each case
 * runs in a child process whose end is the result; the test process
 * itself never enters the sandbox.  Sanitizer builds only log forbidden
 * calls: there the stopping cases are skipped, saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

typedef int (*action_fn)(void);

/* A pipe the confined thread may use: opened before it is confined. */
static int io[2];

struct outcome {
	int status;		/* of waitpid */
	char err[512];		/* what the child wrote on stderr */
};

static void *confined(void *arg)
{
	action_fn fn = (action_fn)(uintptr_t)arg;

	if (sandbox_enter() < 0)
		_exit(90);
	_exit(fn());
}

static void child(action_fn fn, int err_fd)
{
	char err[160];
	pthread_t t;
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);	/* a stopped child is the expected end */
	dup2(err_fd, STDERR_FILENO);
	if (pipe(io) < 0 || sandbox_init(err, sizeof(err)) < 0)
		_exit(91);
	if (pthread_create(&t, NULL, confined, (void *)(uintptr_t)fn) != 0)
		_exit(92);
	pthread_join(t, NULL);
	_exit(93);
}

/* Runs fn in a confined thread of a child process. */
static void run_confined(action_fn fn, struct outcome *o)
{
	int pipefd[2];

	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(fn, pipefd[1]);
	close(pipefd[1]);
	memset(o->err, 0, sizeof(o->err));
	size_t got = 0;
	ssize_t n;
	while ((n = read(pipefd[0], o->err + got, sizeof(o->err) - 1 - got)) > 0)
		got += (size_t)n;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &o->status, 0), pid);
}

static bool enforcing(void)
{
	char err[160];

	assert_int_equal(sandbox_init(err, sizeof(err)), 0);
	if (strcmp(sandbox_mode(), "enforcing") == 0)
		return true;
	fprintf(stderr, "SKIPPED: the sandbox is '%s' in this build: forbidden calls are "
		"only logged, nothing stops them\n", sandbox_mode());
	return false;
}

static void assert_stopped(action_fn fn, long nr)
{
	struct outcome o;
	char want[80];

	if (!enforcing()) {
		skip();
		return;
	}
	run_confined(fn, &o);
	assert_true(WIFSIGNALED(o.status));
	assert_int_equal(WTERMSIG(o.status), SIGSYS);
	snprintf(want, sizeof(want), "system call %ld, which it may not make", nr);
	assert_non_null(strstr(o.err, want));
	assert_int_equal(strchr(o.err, '\n') + 1 - o.err, (long)strlen(o.err));	/* one line */
}

/* ---- allowed: what exit handlers do ---- */

static int exit_handler_work(void)
{
	char buf[8] = "frame";
	struct iovec iov = { buf, 5 };

	if (write(io[1], buf, 5) != 5 || read(io[0], buf, sizeof(buf)) != 5 ||
	    writev(io[1], &iov, 1) != 5 || readv(io[0], &iov, 1) != 5)
		return 20;
	/* an allowed ioctl on a fd that is not KVM's: ENOTTY, not SIGSYS */
	if (ioctl(io[0], KVM_RUN, 0) != -1 || errno != ENOTTY)
		return 21;
	void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (m == MAP_FAILED || mprotect(m, 4096, PROT_READ) < 0 || munmap(m, 1 << 20) < 0)
		return 22;
	for (int i = 0; i < 64; i++)
		free(malloc((size_t)4096 << (i % 8)));
	return 0;
}

static void test_exit_handler_work_is_allowed(void **state)
{
	struct outcome o;

	(void)state;
	run_confined(exit_handler_work, &o);
	assert_true(WIFEXITED(o.status));
	assert_int_equal(WEXITSTATUS(o.status), 0);
	assert_string_equal(o.err, "");
}

/* ---- forbidden ---- */

static int make_socket(void) { return socket(AF_INET, SOCK_STREAM, 0) < 0 ? 1 : 0; }
static int open_file(void) { return open("/etc/hostname", O_RDONLY) < 0 ? 1 : 0; }
static int run_program(void)
{
	char *argv[] = { "/bin/true", NULL };

	execv(argv[0], argv);
	return 1;
}
static int map_executable(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
	       MAP_FAILED;
}
static int other_ioctl(void)
{
	struct termios t;

	return ioctl(io[0], TCGETS, &t) < 0 ? 1 : 0;
}
static int new_process(void) { return (int)syscall(SYS_fork) < 0 ? 1 : 0; }

static void test_socket_stops_the_vm(void **s) { (void)s; assert_stopped(make_socket, SYS_socket); }
static void test_open_stops_the_vm(void **s) { (void)s; assert_stopped(open_file, SYS_openat); }
static void test_exec_stops_the_vm(void **s) { (void)s; assert_stopped(run_program, SYS_execve); }
static void test_exec_memory_stops_the_vm(void **s) { (void)s; assert_stopped(map_executable, SYS_mmap); }
static void test_other_ioctl_stops_the_vm(void **s) { (void)s; assert_stopped(other_ioctl, SYS_ioctl); }
static void test_fork_stops_the_vm(void **s) { (void)s; assert_stopped(new_process, SYS_fork); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_handler_work_is_allowed),
		cmocka_unit_test(test_socket_stops_the_vm),
		cmocka_unit_test(test_open_stops_the_vm),
		cmocka_unit_test(test_exec_stops_the_vm),
		cmocka_unit_test(test_exec_memory_stops_the_vm),
		cmocka_unit_test(test_other_ioctl_stops_the_vm),
		cmocka_unit_test(test_fork_stops_the_vm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
