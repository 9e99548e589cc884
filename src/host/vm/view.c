/*
 * The inventory's view of each registered VM: what getallvms, get.summary
 * and get.guest show (display name, guest OS, hardware version, memory,
 * vCPUs, adapters and their port groups, ...), as the .vmx said when
 * vmkd last read it on purpose.
 *
 * The reference's hostd keeps the configuration it read at registration
 * and reads the .vmx again only on vmsvc/reload (or a power-on, or its
 * own restart); an administrator who edits the file by hand sees the
 * change once he reloads.  vmkd does the same: registervm, reload and
 * power.on set the view; a vmkd that starts without one (restarted)
 * reads the file the first time the VM is listed.  A file that no longer
 * parses therefore leaves the last good view in place, and reload can
 * refuse it without the inventory going blank.
 *
 * The views live in vmkd's memory only (a few KiB each, looked up by a
 * linear scan: an inventory holds tens of VMs, not thousands); the .vmx
 * stays the one place the configuration is written down.
 */
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static struct vm_view **views;
static size_t nr_views, cap_views;

static struct vm_view **slot(long long vmid)
{
	for (size_t i = 0; i < nr_views; i++)
		if (views[i]->vmid == vmid)
			return &views[i];
	return NULL;
}

static void fill(struct vm_view *v, const struct vmx_vm_config *c)
{
	memcpy(v->display_name, c->display_name, sizeof(v->display_name));
	memcpy(v->guest_os, c->guest_os, sizeof(v->guest_os));
	memcpy(v->annotation, c->annotation, sizeof(v->annotation));
	v->hw_version = c->hw_version;
	v->memsize_mb = c->memsize_mb;
	v->numvcpus = c->numvcpus;
	v->nr_disks = c->nr_disks;
	memcpy(v->uuid_bios, c->uuid_bios, sizeof(v->uuid_bios));
	v->nr_nics = 0;
	for (unsigned i = 0; i < c->nr_nics && i < VMXFILE_MAX_NICS; i++) {
		struct vm_view_nic *n = &v->nics[v->nr_nics++];
		n->index = c->nics[i].index;
		memcpy(n->network, c->nics[i].network_name, sizeof(n->network));
		memcpy(n->mac, c->nics[i].mac, sizeof(n->mac));
		n->start_connected = c->nics[i].start_connected;
	}
}

int vm_view_set(long long vmid, const struct vmx_vm_config *c)
{
	struct vm_view **s = slot(vmid), *v;

	if (s) {
		fill(*s, c);
		return 0;
	}
	if (nr_views == cap_views) {
		size_t cap = cap_views ? cap_views * 2 : 16;
		struct vm_view **n = realloc(views, cap * sizeof(*n));
		if (!n)
			return -1;
		views = n;
		cap_views = cap;
	}
	if (!(v = calloc(1, sizeof(*v))))
		return -1;
	v->vmid = vmid;
	fill(v, c);
	views[nr_views++] = v;
	return 0;
}

const struct vm_view *vm_view_find(long long vmid)
{
	struct vm_view **s = slot(vmid);

	return s ? *s : NULL;
}

const struct vm_view *vm_view_get(long long vmid, const char *vmx_path)
{
	struct vm_view **s = slot(vmid);
	struct vmx_vm_config *c;
	char err[1024];

	if (s)
		return *s;
	/* None yet (vmkd restarted): the file as it is now, if it parses. */
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	if (vm_load_config(vmx_path, c, err, sizeof(err)) == 0 && vm_view_set(vmid, c) == 0)
		s = slot(vmid);
	free(c);
	return s ? *s : NULL;
}

void vm_view_drop(long long vmid)
{
	struct vm_view **s = slot(vmid);

	if (!s)
		return;
	free(*s);
	*s = views[--nr_views];
}

void vm_view_free_all(void)
{
	for (size_t i = 0; i < nr_views; i++)
		free(views[i]);
	free(views);
	views = NULL;
	nr_views = cap_views = 0;
}
