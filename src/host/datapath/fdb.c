/*
 * The forwarding database: which port has a MAC address in a VLAN.
 *
 * One open-addressing hash table per switch, keyed by VLAN << 48 | MAC,
 * probed linearly; a deletion shifts the following entries of its run
 * back, so there are no tombstones and a lookup stops at the first free
 * slot.  The table is allocated once (a power of two, at least twice the
 * entry limit) and never grows on the forwarding path.
 *
 * Two sorts of entries: static ones are each virtual port's effective MAC,
 * which the switch knows from its configuration as the reference's vSwitch
 * does, and they never age nor move; learned ones come from the source
 * MACs of frames virtual ports send (nested guests, bridges in a VM) and
 * expire aging_ns after the last frame.  Expired entries are removed when
 * a lookup meets them and by the periodic sweep (dp_fdb_age).  Nothing is
 * learned from uplinks: whatever is not behind a local port is reached
 * through the uplink anyway.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t fdb_key(uint16_t vlan, const uint8_t mac[6])
{
	uint64_t k = vlan;

	for (int i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return k;
}

static uint32_t fdb_hash(const struct dp_fdb *t, uint64_t key)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & t->mask;
}

uint16_t dp_fdb_vlan(const struct dp_fdb_entry *e)
{
	return (uint16_t)(e->key >> 48);
}

void dp_fdb_mac(const struct dp_fdb_entry *e, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(e->key >> (40 - 8 * i));
}

int dp_fdb_init(struct dp_fdb *t, unsigned entries, uint64_t aging_ns)
{
	uint32_t slots = 16;

	while (slots < 2u * entries && slots < (1u << 30))
		slots <<= 1;
	t->slot = calloc(slots, sizeof(*t->slot));
	if (!t->slot)
		return -ENOMEM;
	t->mask = slots - 1;
	t->count = 0;
	t->limit = entries;
	t->aging_ns = aging_ns;
	return 0;
}

void dp_fdb_free(struct dp_fdb *t)
{
	free(t->slot);
	t->slot = NULL;
}

/* The slot holding key, or the free slot ending its probe run. */
static struct dp_fdb_entry *fdb_find(struct dp_fdb *t, uint64_t key)
{
	uint32_t i = fdb_hash(t, key);

	while (t->slot[i].port && t->slot[i].key != key)
		i = (i + 1) & t->mask;
	return &t->slot[i];
}

/* Removes the entry at slot i and shifts back the rest of its run. */
static void fdb_delete(struct dp_fdb *t, uint32_t i)
{
	uint32_t j = i;

	t->slot[i].port = NULL;
	t->count--;
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slot[j].port)
			return;
		uint32_t home = fdb_hash(t, t->slot[j].key);
		/* j's entry may fill the hole at i unless its home lies
		 * cyclically in (i, j] */
		bool stays = i <= j ? (i < home && home <= j)
				    : (i < home || home <= j);
		if (stays)
			continue;
		t->slot[i] = t->slot[j];
		t->slot[j].port = NULL;
		i = j;
	}
}

static bool fdb_expired(const struct dp_fdb *t, const struct dp_fdb_entry *e,
			uint64_t now)
{
	return !e->is_static && now - e->seen_ns > t->aging_ns;
}

struct dp_port *dp_fdb_lookup(struct dp_fdb *t, uint16_t vlan,
			      const uint8_t mac[6], uint64_t now)
{
	struct dp_fdb_entry *e = fdb_find(t, fdb_key(vlan, mac));

	if (!e->port)
		return NULL;
	if (fdb_expired(t, e, now)) {
		fdb_delete(t, (uint32_t)(e - t->slot));
		return NULL;
	}
	return e->port;
}

void dp_fdb_learn(struct dp_fdb *t, uint16_t vlan, const uint8_t mac[6],
		  struct dp_port *p, uint64_t now)
{
	uint64_t key = fdb_key(vlan, mac);
	struct dp_fdb_entry *e = fdb_find(t, key);

	if (e->port) {
		if (e->is_static)
			return;		/* a port's own MAC does not move */
		e->port = p;
		e->seen_ns = now;
		return;
	}
	if (t->count >= t->limit)
		return;
	*e = (struct dp_fdb_entry){ .key = key, .port = p, .seen_ns = now };
	t->count++;
}

int dp_fdb_add_static(struct dp_fdb *t, uint16_t vlan, const uint8_t mac[6],
		      struct dp_port *p)
{
	uint64_t key = fdb_key(vlan, mac);
	struct dp_fdb_entry *e = fdb_find(t, key);

	if (e->port && e->is_static && e->port != p)
		return -EEXIST;
	if (!e->port) {
		if (t->count >= t->limit)
			return -ENOSPC;
		t->count++;
	}
	*e = (struct dp_fdb_entry){ .key = key, .port = p, .is_static = true };
	return 0;
}

void dp_fdb_del(struct dp_fdb *t, uint16_t vlan, const uint8_t mac[6],
		const struct dp_port *p)
{
	struct dp_fdb_entry *e = fdb_find(t, fdb_key(vlan, mac));

	if (p && e->port == p)
		fdb_delete(t, (uint32_t)(e - t->slot));
}

/* Deletes every entry matching (port, or any expired one when p is NULL). */
static void fdb_remove_if(struct dp_fdb *t, const struct dp_port *p,
			  uint64_t now)
{
	uint32_t i = 0, scanned = 0;

	/* a deletion may shift a later entry into slot i: look again */
	while (scanned <= t->mask) {
		struct dp_fdb_entry *e = &t->slot[i];
		bool hit = e->port && (p ? e->port == p : fdb_expired(t, e, now));
		if (hit) {
			fdb_delete(t, i);
			continue;
		}
		i = (i + 1) & t->mask;
		scanned++;
	}
}

void dp_fdb_flush_port(struct dp_fdb *t, const struct dp_port *p)
{
	fdb_remove_if(t, p, 0);
}

void dp_fdb_age(struct dp_fdb *t, uint64_t now)
{
	fdb_remove_if(t, NULL, now);
}

void dp_fdb_foreach(struct dp_fdb *t,
		    void (*fn)(struct dp_fdb_entry *e, void *arg), void *arg)
{
	for (uint32_t i = 0; i <= t->mask; i++)
		if (t->slot[i].port)
			fn(&t->slot[i], arg);
}
