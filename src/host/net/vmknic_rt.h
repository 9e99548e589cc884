/*
 * The kernel side of VMkernel adapters: for each adapter a TAP named
 * vmkN in its stack's namespace (vmknic_tap.h), whose fd vmkd keeps and
 * hands to the datapath (switching_attach_vmknic), and whose MAC, MTU,
 * link state, IPv4 and IPv6 addresses, per-adapter gateway and IPv6
 * settings follow the store.
 *
 * The per-adapter gateway (`ipv4 set -g`) is, as the reference says, not
 * part of the stack's routing table: only traffic that leaves through
 * that adapter uses it.  In the kernel it is policy routing in the
 * adapter's stack: a table of its own (VMKNIC_GW_TABLE + N for vmkN)
 * holding the default route via the gateway, and two rules sending to
 * that table what is bound to the adapter (oif vmkN: vmkping -I, a
 * socket with SO_BINDTODEVICE) or comes from its address (from ADDR:
 * replies of connections made to it).  A rule before them looks in the
 * main table but ignores a default route found there (suppress_
 * prefixlength 0), so that the adapter's traffic still takes the
 * stack's more specific routes and its connected networks, and only
 * what would leave by the stack's default route leaves by the adapter's
 * gateway instead; everything else reaches the main table as usual.
 * `route ipv4 list` (the main table) does not show it.
 *
 * Main thread only.  0 or -errno, with one line in err.
 */
#ifndef VMKD_NET_VMKNIC_RT_H
#define VMKD_NET_VMKNIC_RT_H

#include <stdbool.h>
#include <stddef.h>

#include "ip.h"

#define RTPROT_VMK_MANUAL 86        /* routes of `route ipv4 add` */
#define RTPROT_VMK_ADAPTER 87       /* per-adapter gateways */
#define VMKNIC_GW_TABLE 10000       /* + N: the table of vmkN's gateway */
#define VMKNIC_GW_SUPPRESS_PREF 32000 /* main table, default routes ignored */
#define VMKNIC_GW_RULE_PREF 32001     /* oif vmkN / from ADDR: vmkN's table */

/* Creates the adapter's TAP in its stack, applies c to it and plugs it
 * into its port group's switch.  Nothing is left behind on failure. */
int vmknic_rt_create(const struct vmknic_cfg *c, char *err, size_t errlen);
/* Brings the existing TAP to c (MTU, up, addresses, gateway, sysctls). */
int vmknic_rt_apply(const struct vmknic_cfg *c, char *err, size_t errlen);
/* Unplugs the adapter from the switch and closes its TAP. */
void vmknic_rt_destroy(const char *name);
bool vmknic_rt_exists(const char *name);
/* The TAP's ifindex in its stack, or 0. */
int vmknic_rt_ifindex(const char *name);
/* The DHCP client's lease of the adapter changed: applies it again
 * from the store (and its stack's routes); failures are logged. */
void vmknic_rt_dhcp_changed(const char *name);
/* A DHCP adapter's address, netmask and gateway (0.0.0.0: none) as
 * applied from its lease: false while it has none. */
bool vmknic_rt_dhcp_ipv4(const char *name, struct in_addr *addr, struct in_addr *mask,
			 struct in_addr *gw);
/* At exit: every TAP unplugged and deleted (the devices vanish), those
 * of each stack namespace as one batch (vmknic_tap_delete_group), the
 * rest closed from many threads; the DHCP clients stop without
 * DHCPRELEASE (dhcp.h). */
void vmknic_rt_shutdown(void);

#endif
