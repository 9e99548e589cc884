/*
 * What the files of vmkd's switching (switching.c, switching_policy.c,
 * switching_uplink.c, switching_vmknic.c) share: the live image of each
 * vSwitch of the store, as it was last reconciled.
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

/* switching_vmknic.c */
void sw_vmknics_poll(void);
/* Detaches the adapters of a vSwitch that goes away. */
void sw_vmknics_drop_vswitch(const struct sw_vswitch *vs);
void sw_vmknics_stop(void);

#endif
