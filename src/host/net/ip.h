/*
 * The IP side of the host's network model: VMkernel adapters (vmknic.c,
 * vmknic_ip.c, vmknic_tag.c), TCP/IP stacks (netstack.c) and their
 * routes (route.c), kept in the store like the switches (model.h), and
 * applied to the kernel by the same request: a handler validates, writes
 * the store, then changes the kernel (vmknic_rt.c, stackns.c, netlink);
 * if the kernel refuses, the handler fails and the transaction rolls
 * back, so the store and the kernel agree.  realize.c builds the kernel
 * side from the store when vmkd starts.
 */
#ifndef VMKD_NET_IP_H
#define VMKD_NET_IP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ipaddr.h"
#include "netlink.h"
#include "stackns.h"

/* For helpers that fail through api_fail(): `return API_ERR(api_invalid(...));`
 * gives -1 (api_fail() itself returns NULL, which a json_t * result
 * cannot tell from success). */
#define API_ERR(call) ((void)(call), -1)
/* The same for helpers that return an id: 0. */
#define API_ERR0(call) ((void)(call), 0)

void netstack_register(void);
void vmknic_register(void);
void vmknic_ip_register(void);
void vmknic_tag_register(void);
void route_register(void);
void neighbor_register(void);
void connection_register(void);

#define VMKNIC_IPV6_MAX 16
#define PORTGROUP_NAME_LEN 64

/* An adapter as the store has it (inside the request's transaction). */
struct vmknic_cfg {
	long long id;
	char name[IFNAMSIZ];
	char portgroup[PORTGROUP_NAME_LEN];
	char netstack[STACK_NAME_MAX + 1];
	char mac[18];
	int mtu;
	bool enabled;
	char ipv4_type[8];      /* STATIC, DHCP, NONE */
	char ipv4_address[IP4_STRLEN], ipv4_netmask[IP4_STRLEN], ipv4_gateway[IP4_STRLEN];
	bool ipv4_peer_dns, ipv6_dhcp, ipv6_ra, ipv6_peer_dns;
	int nipv6;
	struct nl_prefix ipv6[VMKNIC_IPV6_MAX];
};

/* 1 and *c filled, 0 if there is no such adapter, -1 on a store error. */
int vmknic_load(const char *name, struct vmknic_cfg *c);
/* The adapter's id, or 0. */
long long vmknic_id(const char *name);
/* "Invalid --interface-name 'vmk9': no such VMkernel network interface" */
json_t *err_no_vmknic(const char *name);
/* Brings the kernel side of the adapter to the store's state (after the
 * handler's change), then the routes of its stack.  0, or -1 after
 * api_fail(). */
int vmknic_apply(const char *name);
/* The adapter of stack id with static IPv4 address ip, other than self:
 * true and its name in owner. */
bool vmknic_ipv4_owner(long long stack, const char *ip, long long self, char *owner,
		       size_t len);
/* Adds the IPv4 fields of `ipv4 get` (address, netmask, broadcast, type,
 * gateway; 0.0.0.0 where unset) of adapter name to o; a DHCP adapter's
 * come from its lease. */
void vmknic_ipv4_fields(json_t *o, const char *name, const char *type, const char *addr,
			const char *mask, const char *gw);

/* Stacks (netstack.c). */
long long netstack_id(const char *name);
json_t *err_no_netstack(const char *name);
/* The id of the stack, creating vmotion or vSphereProvisioning (store
 * and kernel) on first use as the reference does; 0 after api_fail().
 * *created tells that this request made it. */
long long netstack_get_or_create(const char *name, bool *created);
/* Applies the stack's settings (congestion control, IPv6) to the kernel. */
int netstack_apply(const char *name, char *err, size_t errlen);
bool netstack_ipv6_enabled(const char *name);

/* Tags (vmknic_tag.c): an adapter joining the vmotion or provisioning
 * stack gets that stack's tag, and the default stack's adapters lose it
 * (those stacks then carry the service).  0, or -1 on a store error. */
int tags_stack_joined(long long vmknic, const char *netstack);

/* Routes (route.c): re-adds the stack's routes (IPv4, and IPv6 where it
 * is on) the kernel lacks and removes ours it has but the store does
 * not; failures are logged.  Returns the number of routes that could not
 * be set. */
int routes_sync(const char *netstack);

/* Startup and exit (realize.c). */
int net_realize(const char *instance);
void net_unrealize(void);

#endif
