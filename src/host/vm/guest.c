/*
 * What the reference learns from VMware Tools in the guest: vim-cmd's
 * vmsvc/get.guest and vmsvc/power.reboot.
 *
 * vmk's guests run no Tools, so vmkd says what a host says of a VM whose
 * Tools are not installed, and only what it knows itself:
 *
 *   get.guest     tools "not installed / not running", the guest OS as
 *                 the inventory has it (guestOS and its full name), the
 *                 guest's state from the power state, and one NicInfo per
 *                 adapter: its port group, MAC, device key (4000 + N for
 *                 ethernetN, the reference's numbering) and whether its
 *                 port is on the vSwitch with vmx's front end there.  No
 *                 host name, addresses, disks or screen: only Tools know.
 *                 A running VM's adapters are those it was started with
 *                 (its live image), an off VM's the inventory's view.
 *   power.reboot  a restart the guest performs itself, which only Tools
 *                 can be asked for: a powered-on VM gets the reference's
 *                 ToolsUnavailable fault, pointing at power.reset (hard)
 *                 and power.shutdown (ACPI power button); a powered-off
 *                 one InvalidPowerState, as power.reset.  Nothing changes.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "switching_vm.h"
#include "vm.h"
#include "vmmac.h"

#define DEVICE_KEY_ETHERNET0 4000

/* The API's full names of the guest ids vmk's examples use; others are
 * shown as their id. */
static const char *const full_names[][2] = {
	{ "other", "Other (32-bit)" },
	{ "other-64", "Other (64-bit)" },
	{ "otherlinux", "Other Linux (32-bit)" },
	{ "otherlinux-64", "Other Linux (64-bit)" },
	{ "ubuntu-64", "Ubuntu Linux (64-bit)" },
};

static const char *full_name(const char *id)
{
	for (size_t i = 0; i < sizeof(full_names) / sizeof(full_names[0]); i++)
		if (strcmp(full_names[i][0], id) == 0)
			return full_names[i][1];
	return id;
}

struct port_seen {
	const char *name;	/* "vm<vmid>.ethN" */
	bool connected;
};

static void find_port(const struct sw_vm_port_info *p, void *arg)
{
	struct port_seen *s = arg;

	if (strcmp(p->name, s->name) == 0)
		s->connected = p->connected;
}

static json_t *nic_info(const char *network, const uint8_t mac[6], unsigned index,
			bool connected)
{
	char text[18];

	vmx_mac_format(mac, text);
	return json_pack("{s:s, s:s, s:b, s:i, s:[]}", "network", network, "mac_address", text,
			 "connected", connected, "device_config_id",
			 (int)(DEVICE_KEY_ETHERNET0 + index), "ip_address");
}

static json_t *live_nics(const struct vm_live *v)
{
	json_t *net = json_array();
	char name[SW_VM_PORT_NAME_MAX];

	for (unsigned i = 0; i < v->nr_nics; i++) {
		const struct vm_nic *n = &v->nics[i];
		struct port_seen s = { name, false };
		snprintf(name, sizeof(name), "vm%lld.eth%u", v->vmid, n->index);
		switching_vm_ports_each(find_port, &s);
		json_array_append_new(net, nic_info(n->portgroup, n->mac, n->index, s.connected));
	}
	return net;
}

static json_t *view_nics(const struct vm_view *w)
{
	json_t *net = json_array();

	for (unsigned i = 0; w && i < w->nr_nics; i++)
		json_array_append_new(net, nic_info(w->nics[i].network, w->nics[i].mac,
						    w->nics[i].index, false));
	return net;
}

static json_t *get_guest(json_t *params)
{
	char path[PATH_MAX];
	long long vmid;

	if (!vm_row(params, &vmid, path, sizeof(path)))
		return NULL;
	const struct vm_view *w = vm_view_get(vmid, path);
	struct vm_live *v = vm_live_find(vmid);
	const char *id = w ? w->guest_os : "";

	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
			 "vmid", (json_int_t)vmid,
			 "tools_status", "toolsNotInstalled",
			 "tools_version_status2", "guestToolsNotInstalled",
			 "tools_running_status", "guestToolsNotRunning",
			 "guest_id", id, "guest_full_name", full_name(id),
			 "host_name", "", "ip_address", "",
			 "guest_state", v ? "running" : "notRunning",
			 "net", v ? live_nics(v) : view_nics(w));
}

static json_t *power_reboot(json_t *params)
{
	struct vm_live *v = vm_running(params, "Reboot guest");

	if (!v)
		return NULL;
	return api_refused("Reboot guest failed: (vim.fault.ToolsUnavailable) VM %lld (%s): the "
			   "guest runs no VMware Tools to ask for a restart; use vmsvc/power.reset "
			   "to reset it at once, or vmsvc/power.shutdown to press its ACPI power "
			   "button", v->vmid, v->name);
}

void guest_register(void)
{
	static const struct api_method methods[] = {
		{ "vmsvc.get.guest", get_guest },
		{ "vmsvc.power.reboot", power_reboot },
		{ 0 }
	};
	api_register_raw(methods);
}
