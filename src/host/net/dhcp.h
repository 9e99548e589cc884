/*
 * The DHCP client of VMkernel adapters of IPv4 type DHCP (RFC 2131).
 *
 * One client per adapter that is of type DHCP and enabled, run by vmkd's
 * event loop: a state machine (dhcp_fsm.c), a packet socket and a timer
 * (a timerfd), all in the adapter's stack (dhcp_sock.c, dhcp_client.c).
 * vmknic_rt.c starts and stops the clients as adapters are applied, and
 * applies their leases: dhcp_lease() is what the adapter's IPv4 address
 * is while the client is bound, and a client that obtains, renews or
 * loses its lease asks vmknic_rt_dhcp_changed() to apply it again.
 *
 * DHCPRELEASE goes out when the adapter stops being a DHCP client: it
 * is removed, disabled, or set to static or none.  Not when vmkd stops
 * (dhcp_shutdown), as the reference does not when the host goes down:
 * the adapter is still configured for DHCP and comes back at the next
 * start, when the server, which kept the binding, gives the same
 * address back (the client asks for it again only within one run:
 * leases are not written to disk).
 *
 * Main thread only.
 */
#ifndef VMKD_NET_DHCP_H
#define VMKD_NET_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dhcp_fsm.h"

/* Starts the adapter's client if it has none: stack_fd is its stack's
 * namespace (-1: vmkd's own), ifindex its TAP there.  0, or -errno
 * (logged as a warning). */
int dhcp_start(const char *name, int stack_fd, int ifindex, const uint8_t mac[6]);
/* Stops the adapter's client, if any, without calling back: with
 * DHCPRELEASE to the server when release is set and it is bound; why
 * goes to the log. */
void dhcp_stop(const char *name, bool release, const char *why);
bool dhcp_running(const char *name);
/* The adapter's lease while its client is bound: true and *l. */
bool dhcp_lease(const char *name, struct dhcp_lease *l);
/* Seconds of the lease left now (0 if ended; DHCP_INFINITE). */
uint32_t dhcp_lease_left(const struct dhcp_lease *l);
/* At exit: every client stopped, no DHCPRELEASE. */
void dhcp_shutdown(void);

/* dhcp_sock.c: the packet socket in namespace ns_fd bound to ifindex,
 * filtered to UDP port 68; the UDP port claim on ifname; sending one IP
 * packet to a MAC; receiving one (the sender's MAC in src_mac). */
int dhcp_sock_open(int ns_fd, int ifindex);
int dhcp_sock_claim(int ns_fd, const char *ifname);
int dhcp_sock_send(int fd, int ifindex, const uint8_t mac[6], const uint8_t *pkt, size_t len);
ssize_t dhcp_sock_recv(int fd, uint8_t *buf, size_t cap, uint8_t src_mac[6],
		       bool *csum_pending);

#endif
