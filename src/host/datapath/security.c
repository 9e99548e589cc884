/*
 * The layer-2 security policy of a port group, as the reference defines
 * its three settings.
 *
 * A virtual port has two MAC addresses: the initial one, from its
 * configuration (the .vmx, the vmknic's settings), and the effective one,
 * which the guest or the adapter's stack sets and vmkd reports with
 * dp_port_set_effective_mac.  They are equal until the guest changes it.
 *
 *   - Forged transmits = reject: a frame whose source MAC is not the
 *     port's effective MAC is dropped on its way in.
 *   - MAC address changes = reject: while the effective MAC differs from
 *     the initial one, every frame to the port is dropped (the switch
 *     still knows the new MAC, so the drops are counted on the port); when
 *     the guest changes it back, frames pass again.
 *   - Promiscuous = accept: the port gets a copy of every frame of the
 *     VLANs it is a member of (forward.c hands the copies out).
 *
 * Uplinks have no security policy; these are asked about virtual ports.
 */
#include <string.h>

#include "internal.h"

bool dp_sec_forged(const struct dp_port *p, const uint8_t *src_mac)
{
	if (p->pg->policy.security.allow_forged_transmits)
		return false;
	return memcmp(src_mac, p->effective_mac, 6) != 0;
}

bool dp_sec_inbound_blocked(const struct dp_port *p)
{
	if (p->pg->policy.security.allow_mac_changes)
		return false;
	return memcmp(p->initial_mac, p->effective_mac, 6) != 0;
}

bool dp_sec_promiscuous(const struct dp_port *p)
{
	return p->pg && p->pg->policy.security.allow_promiscuous;
}
