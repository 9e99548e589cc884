/*
 * What the files of vmkd's switching (switching.c, switching_policy.c,
 * switching_uplink.c, switching_vmknic.c, switching_mcast.c) share: the
 * live image of each vSwitch of the store, as it was last reconciled.
 *
 * A struct sw_vswitch owns one dp_switch.  Its port groups are named
 * "pg<store id>" inside the dp_switch (store names may be longer than
 * DP_NAME_MAX; ids never change), and each remembers a fingerprint of what
 * was applied (VLAN and effective policy, as JSON text) so that a sync
 * calls dp_pg_set only when something really changed: dp_pg_set resets
 * the shapers of the group's ports.  Uplinks are named by their vmnic
 * name, which is what teaming lists hold.
 *
 * Everything here runs on vmkd's main thread; the datapath's runner thread
 * only sees the dp_switch and dp_port objects, through their own locks.
 */
#ifndef VMKD_SWITCHING_INTERNAL_H
#define VMKD_SWITCHING_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "datapath.h"

struct sw_uplink {
	char nic[32];			/* vmnicN: the port's name */
	char ifname[IF_NAMESIZE];	/* the Linux interface */
	int ifindex;			/* of the interface the port is bound to */
	struct dp_port *port;		/* NULL while the NIC is absent */
	bool link_up;			/* last state told to the switch */
	bool warned;			/* an open failure was logged */
	bool claimed;			/* the kernel's ARP is off it (uplink_claim) */
	char saved_arp_ignore[8];	/* its arp_ignore from before */
};

struct sw_pg {
	long long id;
	char name[64];
	char key[DP_NAME_MAX];		/* "pg<id>", the dp_switch's name for it */
	char *applied;			/* fingerprint of the VLAN and policy applied */
	bool notify;			/* notify switches: announce adapters that connect */
};

struct sw_vswitch {
	long long id;
	char name[64];
	unsigned mtu;
	struct dp_switch *dp;
	struct sw_uplink *uplinks;
	unsigned nuplinks;
	struct sw_pg *pgs;
	unsigned npgs, cap_pgs;
};

/* switching.c */
extern struct dp_runner *sw_runner;
/* The port group of that name and its vSwitch, or NULL. */
struct sw_pg *sw_pg_by_name(const char *name, struct sw_vswitch **vs);

/* Logs a port's counters (as it leaves its switch). */
void sw_log_port_stats(struct dp_port *p);

/* switching_policy.c: the port group's VLAN and effective policy as the
 * API's policy get commands show them; *fingerprint (malloc'd) names the
 * whole.  0, or -1 if a get failed. */
int sw_policy_get(const char *pgname, unsigned vlan, struct dp_policy *pol,
		  char **fingerprint);

/* switching_uplink.c */
/* Makes the vSwitch's uplinks those of the store (opening the present
 * NICs), keeping the ports that did not change. */
void sw_uplinks_reconcile(struct sw_vswitch *vs);
void sw_uplinks_close(struct sw_vswitch *vs);
/* Sets the vSwitch's MTU on every uplink interface. */
void sw_uplinks_set_mtu(struct sw_vswitch *vs);
/* Follows the NICs: reopens those that came back, reports link changes. */
void sw_uplinks_poll(struct sw_vswitch *vs);
/* Watches link changes (rtnetlink) and a 1 s tick on vmkd's loop; calls
 * on_link after link events and on_tick every second. */
int sw_watch_start(void (*on_link)(void), void (*on_tick)(void));
void sw_watch_stop(void);

/* switching_mcast.c: the multicast groups of a vmknic (the file says
 * where they come from).  A set is sorted 48-bit MACs without duplicates
 * once normalized. */
struct sw_mc_set {
	uint64_t *key;
	unsigned n, cap;
};
struct sw_mc_entry {
	char ifname[IF_NAMESIZE];
	uint64_t key;
};
struct sw_mc_table {			/* one namespace's dev_mcast, by name */
	struct sw_mc_entry *e;
	size_t n, cap;
	char *buf;
	size_t bufcap;
};
struct in6_addr;
void sw_mc_set_clear(struct sw_mc_set *s);
void sw_mc_set_free(struct sw_mc_set *s);
int sw_mc_set_add(struct sw_mc_set *s, uint64_t key);
void sw_mc_set_normalize(struct sw_mc_set *s);
bool sw_mc_set_equal(const struct sw_mc_set *a, const struct sw_mc_set *b);
/* The groups the kernel joins for an adapter with that MAC and those
 * static IPv6 addresses (normalized). */
void sw_mc_expected(struct sw_mc_set *s, const uint8_t mac[6], const struct in6_addr *v6,
		    unsigned n);
/* An fd of /proc/net/dev_mcast of namespace nsfd, or -errno. */
int sw_mc_open(int nsfd);
/* Re-reads it into t; 0 or -errno (t then empty). */
int sw_mc_read(int fd, struct sw_mc_table *t);
/* The groups of ifname in t, into s (normalized); -ENOMEM: too many. */
int sw_mc_lookup(const struct sw_mc_table *t, const char *ifname, struct sw_mc_set *s);
void sw_mc_table_free(struct sw_mc_table *t);

/* switching_vmknic.c */
void sw_vmknics_poll(void);
/* Detaches the adapters of a vSwitch that goes away. */
void sw_vmknics_drop_vswitch(const struct sw_vswitch *vs);
void sw_vmknics_stop(void);

/* switching_vm.c: disconnects the VM ports of a vSwitch that goes away
 * (they connect again if a port group of their name comes back). */
void sw_vms_drop_vswitch(const struct sw_vswitch *vs);

#endif
