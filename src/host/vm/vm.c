/*
 * vmkd's VMs: the entry points main.c calls (vm.h).  Start: the default
 * datastore on a host that has none (a first start, or a store migrated
 * from before datastores), then the external VM ports and the
 * re-adoption of the VMs that still run, all in one transaction before
 * the API is served.  Stop: the VMs keep running; vmkd only lets go of
 * their ports and connections.
 */
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store.h"
#include "switching_vm.h"
#include "vimcmd_table.h"
#include "vm.h"
#include "vmklog.h"

const struct instance *vm_instance;

int vm_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

void vm_crash_point(const char *point)
{
	const char *at = getenv("VMK_TEST_CRASH_AT");

	if (at && strcmp(at, point) == 0)
		raise(SIGKILL);
}

void vm_register(void)
{
	api_add_table(&vimcmd_table);	/* vim-cmd's params are checked by its table */
	datastore_register();
	inventory_register();
	power_register();
	guest_register();
	process_register();
	netvm_register();
}

void vm_start(const struct instance *in)
{
	vm_instance = in;
	if (store_begin() < 0) {
		vmklog_warn("VMX", "cannot read the VMs: %s", store_errmsg());
		return;
	}
	datastore_ensure_default(in);
	netvm_attach_external();
	vm_adopt_all();
	if (store_commit() < 0) {
		vmklog_warn("VMX", "cannot record the VMs' state: %s", store_errmsg());
		store_rollback();
	}
	vmklog("VMX", "%lld VMs registered, %u running; cgroups: %s",
	       store_int(0, "SELECT count(*) FROM vm", ""), vm_live_count(), vm_cgroup_kind());
}

void vm_stop(void)
{
	vm_live_release_all();
	vm_view_free_all();
	switching_vm_stop();
}
