/*
 * The datapath side of vmkd: one dp_switch (src/host/datapath) per
 * standard vSwitch of the store, with its port groups (VLAN id and the
 * effective policy: the vSwitch's merged with the port group's
 * overrides), its uplinks (AF_PACKET ports on the vmnics, link state
 * followed), and the ports of VMkernel adapters (their TAP fds).
 *
 * Called on vmkd's main thread only; forwarding runs on the datapath's
 * own runner thread.
 */
#ifndef VMKD_SWITCHING_H
#define VMKD_SWITCHING_H

#include <stdint.h>

/* Builds every switch from the store and starts forwarding; 0 or -1. */
int switching_start(void);
void switching_stop(void);

/* Reconciles the switches with the store after a committed change. */
int switching_sync(void);

/*
 * Plugs a VMkernel adapter's TAP into the switch of its port group (the
 * caller keeps owning tap_fd and closes it after detaching).  0, or -1
 * when the port group is unknown.
 */
int switching_attach_vmknic(const char *vmknic, const char *portgroup, int tap_fd,
			    const uint8_t mac[6]);
void switching_detach_vmknic(const char *vmknic);
/* The adapter's static IPv6 addresses (after each change): their
 * solicited-node groups join its multicast filter at once, before the
 * kernel has joined them itself (switching_mcast.c). */
struct in6_addr;
void switching_vmknic_ipv6(const char *vmknic, const struct in6_addr *addrs, unsigned n);

#endif
