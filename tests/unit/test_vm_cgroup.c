/*
 * vmkd's cgroup v2 code (src/host/vm/cgroup.c) against a fake cgroup2
 * tree.  The machines vmk is tested on mount cgroup v1 only, so the v2
 * path would otherwise never run: here $VMK_CGROUP_ROOT names a temporary
 * directory that looks like a cgroup2 root (cgroup.controllers), and the
 * test checks the directories made and the values written for the .vmx's
 * sched.* keys.  A plain file system does not make a cgroup's interface
 * files, nor empty a directory of them on rmdir: the test makes the files
 * (empty) beforehand and removes them afterwards.  What it cannot show is
 * the kernel's acceptance of the values (that needs a real cgroup2 mount).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/vm.h"	/* src/host/vm (src/vmm has a vm.h too) */

/* ---- what cgroup.c needs of vmkd ---- */

static struct instance inst = { .name = "utest" };
const struct instance *vm_instance = &inst;

int vm_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

void vmklog_write(bool warn, const char *subsys, int line, const char *fmt, ...)
{
	(void)warn, (void)subsys, (void)line, (void)fmt;
}

/* ---- the fake tree ---- */

static char root[] = "/tmp/vmk-cg2-XXXXXX";

static void touch(const char *dir, const char *file)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

static void slurp(const char *dir, const char *file, char *buf, size_t len)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static const char *const files[] = { "cgroup.procs", "cpu.weight", "cpu.max", "memory.max",
				     "memory.min", "cgroup.subtree_control" };

static void test_v2_tree_and_values(void **state)
{
	char inst_dir[128], vm[256], buf[512];
	struct vmx_sched s = { .cpu_shares = 2000, .cpu_max_mhz = 0, .mem_max_mb = 96,
			       .mem_min_mb = 32 };
	struct vm_cgroup cg;
	char err[256];

	(void)state;
	assert_non_null(mkdtemp(root));
	touch(root, "cgroup.controllers");
	touch(root, "cgroup.subtree_control");
	setenv("VMK_CGROUP_ROOT", root, 1);
	snprintf(inst_dir, sizeof(inst_dir), "%s/vmk.utest", root);
	snprintf(vm, sizeof(vm), "%s/vm7", inst_dir);
	assert_int_equal(mkdir(inst_dir, 0755), 0);
	assert_int_equal(mkdir(vm, 0755), 0);
	touch(inst_dir, "cgroup.subtree_control");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		touch(vm, files[i]);

	assert_string_equal(vm_cgroup_kind(), "v2");
	assert_int_equal(vm_cgroup_create(7, &s, 2, &cg, err, sizeof(err)), 0);
	assert_int_equal(cg.n, 1);
	assert_non_null(strstr(cg.dir[0], "/vmk.utest/vm7"));
	assert_non_null(strstr(cg.procs[0], "/vmk.utest/vm7/cgroup.procs"));
	slurp(vm, "cpu.weight", buf, sizeof(buf));
	assert_string_equal(buf, "200");	/* 2000 shares: twice normal (100) */
	slurp(vm, "memory.max", buf, sizeof(buf));
	assert_string_equal(buf, "100663296");
	slurp(vm, "memory.min", buf, sizeof(buf));
	assert_string_equal(buf, "33554432");
	slurp(root, "cgroup.subtree_control", buf, sizeof(buf));
	assert_string_equal(buf, "+cpu +memory");
	slurp(inst_dir, "cgroup.subtree_control", buf, sizeof(buf));
	assert_string_equal(buf, "+cpu +memory");
	slurp(vm, "cpu.max", buf, sizeof(buf));
	assert_string_equal(buf, "");	/* no sched.cpu.max: no limit written */

	/* the pids of the VM's cgroup, for the orphan sweep (adopt.c) */
	FILE *f = fopen(cg.procs[0], "w");
	assert_non_null(f);
	fputs("123\n456\n123\n", f);
	fclose(f);
	pid_t pids[4];
	assert_int_equal(vm_cgroup_pids(7, pids, 4), 2);
	assert_int_equal(pids[0], 123);
	assert_int_equal(pids[1], 456);

	/* removal: once the (fake) interface files are gone, the VM's
	 * directory goes, and vmk.<instance> with its last VM */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[1024];
		snprintf(p, sizeof(p), "%s/%s", vm, files[i]);
		unlink(p);
	}
	snprintf(buf, sizeof(buf), "%s/cgroup.subtree_control", inst_dir);
	unlink(buf);
	vm_cgroup_remove(7);
	assert_int_equal(access(vm, F_OK), -1);
	assert_int_equal(access(inst_dir, F_OK), -1);
	snprintf(buf, sizeof(buf), "%s/cgroup.controllers", root);
	unlink(buf);
	snprintf(buf, sizeof(buf), "%s/cgroup.subtree_control", root);
	unlink(buf);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_tree_and_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
