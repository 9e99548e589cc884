/*
 * VM ports on the vSwitches (switching_vm.c): each network adapter of a
 * running VM, and each external vhost-user front end added with
 * network.vm.port.add, is a DP_PORT_VM port (a vhost-user back end that
 * connects, as the client, to the front end's socket) attached to its
 * port group's switch with the adapter's MAC.
 *
 * The front end may not listen yet when the port is made (vmx was just
 * spawned), or may go away and come back (vmx re-executes itself on a
 * guest reset; vmkd restarted): vmkd retries connecting every 200 ms,
 * at most 50 times in a row (10 s), then logs a warning and keeps
 * trying once every 5 s for as long as the port exists.  Every loop is
 * bounded per tick.
 */
#ifndef VMKD_SWITCHING_VM_H
#define VMKD_SWITCHING_VM_H

#include <stdbool.h>
#include <stdint.h>

#define SW_VM_PORT_NAME_MAX 32

struct sw_vm_port_info {
	const char *name;	/* "vm<vmid>.ethN", or the external port's name */
	long long vmid;		/* 0 for an external front end */
	const char *vswitch;
	const char *portgroup;
	const char *socket;
	uint8_t mac[6];
	bool connected;		/* the front end is there */
	unsigned port_id;	/* the port's id in its switch (0 before it is made) */
	const char *uplink;	/* the uplink the port's frames leave by, or "" */
};

/* Adds a port; 0, or -1 with err (unknown port group, no vhost-user in
 * this build, name taken).  Connecting is retried in the background. */
int switching_attach_vm_port(const char *name, long long vmid, const char *portgroup,
			     const char *socket, const uint8_t mac[6], char *err, size_t errlen);
/* Removes one port by name; false if there was none. */
bool switching_detach_vm_port(const char *name);
/* Removes every port of the VM. */
void switching_detach_vm_ports(long long vmid);
void switching_vm_ports_each(void (*fn)(const struct sw_vm_port_info *p, void *arg), void *arg);
/* Whether this build has the vhost-user back end. */
bool switching_vm_supported(void);
void switching_vm_stop(void);

#endif
