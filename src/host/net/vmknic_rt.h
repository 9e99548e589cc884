/*
 * The kernel side of VMkernel adapters: for each adapter a TAP named
 * vmkN in its stack's namespace (vmknic_tap.h), whose fd vmkd keeps and
 * hands to the datapath (switching_attach_vmknic), and whose MAC, MTU,
 * link state, IPv4 and IPv6 addresses, per-adapter gateway and IPv6
 * settings follow the store.
 *
 * The per-adapter gateway (`ipv4 set -g`) is, as the reference says, not
 * part of the stack's routing table: only traffic that leaves through
 * that adapter uses it.  In the kernel it is a default route through the
 * adapter with a high metric (VMKNIC_GW_METRIC + N for vmkN) and its own
 * protocol number: a socket bound to the adapter (vmkping -I) finds it,
 * because the kernel then only considers routes through that device,
 * while the stack's own default route (route ipv4 add -n default, metric
 * 0) wins for everything else.  `route ipv4 list` leaves these out.
 *
 * Main thread only.  0 or -errno, with one line in err.
 */
#ifndef VMKD_NET_VMKNIC_RT_H
#define VMKD_NET_VMKNIC_RT_H

#include <stdbool.h>
#include <stddef.h>

#include "ip.h"

#define RTPROT_VMK_MANUAL 86   /* routes of `route ipv4 add` */
#define RTPROT_VMK_ADAPTER 87  /* per-adapter gateways */
#define VMKNIC_GW_METRIC 100000

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
/* At exit: every TAP unplugged and closed (the devices vanish). */
void vmknic_rt_shutdown(void);

#endif
