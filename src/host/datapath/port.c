/*
 * What every kind of port shares: initialisation, destruction, counters
 * and the names of things for logs and esxcli.  The kinds themselves
 * (port_tap.c, port_packet.c, port_test.c, later vhost-user) embed a
 * struct dp_port first in their own structure and supply its ops.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

void dp_port_init(struct dp_port *p, const struct dp_port_ops *ops,
		  enum dp_port_kind kind, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->kind = kind;
	p->fd = -1;
	p->link_up = true;
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
}

void dp_port_destroy(struct dp_port *p)
{
	if (!p)
		return;
	dp_switch_detach(p);
	dp_mcast_free(p);
	p->ops->destroy(p);
}

void dp_port_get_stats(struct dp_port *p, struct dp_port_stats *out)
{
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);

	if (sw)
		pthread_mutex_lock(&sw->lock);
	*out = p->stats;
	if (sw)
		pthread_mutex_unlock(&sw->lock);
}

const char *dp_drop_name(enum dp_drop why)
{
	static const char *const names[DP_DROP_MAX] = {
		[DP_DROP_MALFORMED] = "malformed",
		[DP_DROP_MTU] = "mtu",
		[DP_DROP_VLAN] = "vlan",
		[DP_DROP_FORGED] = "forged-transmit",
		[DP_DROP_MAC_CHANGE] = "mac-change",
		[DP_DROP_SHAPED] = "shaped",
		[DP_DROP_NO_UPLINK] = "no-uplink",
		[DP_DROP_UNKNOWN] = "unknown-unicast",
		[DP_DROP_LINK_DOWN] = "link-down",
		[DP_DROP_LOOP] = "loop",
		[DP_DROP_TX] = "tx-error",
	};

	return (unsigned)why < DP_DROP_MAX ? names[why] : "?";
}

const char *dp_port_kind_name(enum dp_port_kind kind)
{
	switch (kind) {
	case DP_PORT_VMKNIC:
		return "vmknic";
	case DP_PORT_UPLINK:
		return "uplink";
	case DP_PORT_VM:
		return "vm";
	case DP_PORT_TEST:
		return "test";
	}
	return "?";
}
