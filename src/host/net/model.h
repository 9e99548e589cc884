/*
 * The network model of vmkd: standard vSwitches, port groups, their
 * policies and the host's NICs, kept in the store (store.c) and changed
 * only through the API handlers of vswitch.c, portgroup.c, policy.c and
 * nic.c.  These files validate and record; applying the model to the
 * kernel and the datapath is the job of the kernel-side code (netns.c,
 * netlink, datapath/), which reads the same store.
 *
 * The lookups below run inside the request's transaction.
 */
#ifndef VMKD_NET_MODEL_H
#define VMKD_NET_MODEL_H

#include <stdbool.h>
#include <net/if.h>

#include <jansson.h>

void vswitch_register(void);
void portgroup_register(void);
void policy_register(void);
void nic_register(void);

/* The id of the named vSwitch or port group, or 0. */
long long vswitch_id(const char *name);
long long portgroup_id(const char *name);

/* API errors naming the bad value of --vswitch-name / --portgroup-name. */
json_t *err_no_vswitch(const char *name);
json_t *err_no_portgroup(const char *name);

/* Teaming lists follow the uplinks (policy.c): an added uplink becomes
 * active on its vSwitch; a removed one leaves every list of the vSwitch
 * and its port groups.  0, or -1 on a store error. */
int policy_uplink_added(long long vswitch, const char *nic);
int policy_uplink_removed(long long vswitch, const char *nic);

/* A NIC of vmkd's network namespace (nic.c). */
struct nic_info {
	char name[32]; /* vmnicN: its own name or its alias */
	char linux_name[IF_NAMESIZE];
	char pci[32];
	char driver[32];
	bool admin_up, link_up, full_duplex;
	long speed; /* Mb/s */
	char mac[18];
	int mtu;
};

/* The NICs present now, sorted by vmnic number; new aliases are stored.
 * The count (with *out malloc'd), or -1. */
int nic_scan(struct nic_info **out);
/* True if a NIC of that vmnic name is present. */
bool nic_present(const char *name);

#endif
