/*
 * Basic multicast filtering: which virtual ports get a flooded multicast
 * frame.
 *
 * The reference's standard vSwitch does not copy every multicast frame to
 * every port of the VLAN: a port's owner (a guest's driver, a VMkernel
 * adapter's stack) pushes the multicast MACs of the groups it joined, and
 * the switch forwards a multicast frame to the ports that listed its
 * destination ("basic multicast filtering").  Without it the cost of one
 * multicast frame grows with the number of ports, and each receiving
 * stack pays too: with a thousand adapters on one vSwitch, every new
 * adapter's IPv6 start-up chatter (MLD reports, duplicate address
 * detection, router solicitations: frames only routers or that one
 * address's owner listen to) was written into a thousand TAPs, and each
 * of those kernels walked its thousand per-device IPv6 routes to throw
 * it away: adding adapters grew quadratically.
 *
 * A filter is a sorted array of 48-bit MACs, searched by bisection.  It
 * is replaced whole under the switch's lock, so the runner sees the old
 * or the new list, never half of one.  Broadcast is never filtered (ARP
 * needs it), ports without a filter take every multicast (ports whose
 * owner tells the switch nothing keep working), and promiscuous ports
 * and uplinks are not asked (forward.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct dp_mcast {
	unsigned n;
	uint64_t mac[];		/* sorted, no duplicates */
};

static uint64_t mac_key(const uint8_t *m)
{
	uint64_t k = 0;

	for (int i = 0; i < 6; i++)
		k = k << 8 | m[i];
	return k;
}

static int cmp_key(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct dp_mcast *filter_new(const uint8_t (*macs)[6], unsigned n)
{
	struct dp_mcast *f = malloc(sizeof(*f) + (size_t)n * sizeof(f->mac[0]));
	unsigned k = 0;

	if (!f)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		f->mac[i] = mac_key(macs[i]);
	qsort(f->mac, n, sizeof(f->mac[0]), cmp_key);
	for (unsigned i = 0; i < n; i++)
		if (k == 0 || f->mac[i] != f->mac[k - 1])
			f->mac[k++] = f->mac[i];
	f->n = k;
	return f;
}

bool dp_mcast_wants(const struct dp_port *p, const uint8_t *dst)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const struct dp_mcast *f = p->mcast;

	if (!f || memcmp(dst, bcast, 6) == 0)
		return true;
	uint64_t key = mac_key(dst);
	return bsearch(&key, f->mac, f->n, sizeof(f->mac[0]), cmp_key) != NULL;
}

int dp_port_set_mcast_filter(struct dp_port *p, const uint8_t (*macs)[6], unsigned n)
{
	struct dp_mcast *f = NULL, *old;

	if (macs && !(f = filter_new(macs, n)))
		return -ENOMEM;
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);
	if (sw)
		pthread_mutex_lock(&sw->lock);
	old = p->mcast;
	p->mcast = f;
	if (sw)
		pthread_mutex_unlock(&sw->lock);
	free(old);
	return 0;
}

void dp_mcast_free(struct dp_port *p)
{
	free(p->mcast);
	p->mcast = NULL;
}
