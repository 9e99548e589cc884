/*
 * `esxcli vm process list` and `kill`: the running VMs by world.
 *
 * World ID is vCPU 0's Linux thread id, VMX Cartel ID vmx's pid, Process
 * ID 0, as the reference shows them.  The world id is asked of vmx again
 * at each list (a guest reset re-executes vmx, whose vCPU threads then
 * have new ids) and the runtime row follows it.
 *
 * kill: soft sends SIGTERM (vmx stops the VM cleanly), hard SIGKILL; the
 * VM is Powered off when the monitor sees vmx go.  force is the last
 * resort: SIGKILL, and the VM is cleaned up before the reply whether or
 * not the process went.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "store.h"
#include "vm.h"
#include "vmklog.h"

static void refresh_world(struct vm_live *v)
{
	long long w = vmxctl_world_id(v);

	if (w == v->world_id)
		return;
	v->world_id = w;
	store_exec("UPDATE vm_runtime SET world_id = ? WHERE vmid = ?", "ll", w, v->vmid);
}

static void list_one(struct vm_live *v, void *arg)
{
	refresh_world(v);
	json_array_append_new(arg, json_pack("{s:I, s:I, s:I, s:s, s:s, s:s}",
		"WorldID", (json_int_t)v->world_id, "ProcessID", (json_int_t)0,
		"VMXCartelID", (json_int_t)v->pid, "UUID", v->uuid, "DisplayName", v->name,
		"ConfigFile", v->vmx_path));
}

static json_t *process_list(json_t *params)
{
	json_t *out = json_array();

	(void)params;
	vm_live_each(list_one, out);
	return out;
}

static void refresh_one(struct vm_live *v, void *arg)
{
	(void)arg;
	refresh_world(v);
}

static json_t *process_kill(json_t *params)
{
	const char *type = param_str(params, "type");
	long long world = param_int(params, "world-id", -1);
	struct vm_live *v;

	if (!type || (strcmp(type, "soft") && strcmp(type, "hard") && strcmp(type, "force")))
		return api_invalid("Invalid --type '%s': use soft, hard or force", type ? type : "");
	if (!(v = vm_live_by_world(world))) {
		vm_live_each(refresh_one, NULL);
		v = vm_live_by_world(world);
	}
	if (!v)
		return api_invalid("Invalid --world-id '%lld': no running VM has that world ID",
				   world);
	vmklog("VMX", "VM %lld (%s): %s kill of world %lld (vmx pid %d)", v->vmid, v->name, type,
	       world, (int)v->pid);
	if (strcmp(type, "soft") == 0) {
		vm_signal(v, SIGTERM);
	} else if (strcmp(type, "hard") == 0) {
		vm_signal(v, SIGKILL);
	} else {
		vm_signal(v, SIGKILL);
		v->stop_reason = "killed (vm process kill --type force)";
		vm_live_gone(v, 2000);
	}
	return json_true();
}

void process_register(void)
{
	static const struct api_method methods[] = {
		{ "vm.process.list", process_list },
		{ "vm.process.kill", process_kill },
		{ 0 }
	};
	api_register_raw(methods);
}
