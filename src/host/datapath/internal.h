/*
 * What the files of the switch share and nobody else sees: the switch and
 * port group structures and the functions each rule's file offers the
 * forwarding code.  Everything here runs with the switch's lock held.
 */
#ifndef VMK_DP_INTERNAL_H
#define VMK_DP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "datapath.h"

/* ---- fdb.c: the MAC table, (VLAN, MAC) -> port ---- */

struct dp_fdb_entry {
	uint64_t key;		/* VLAN << 48 | MAC */
	struct dp_port *port;	/* NULL: free slot */
	uint64_t seen_ns;	/* last frame from it (learned entries) */
	bool is_static;		/* a port's own MAC: never ages, never moves */
};

struct dp_fdb {
	struct dp_fdb_entry *slot;
	uint32_t mask;		/* slots - 1, a power of two minus one */
	uint32_t count, limit;
	uint64_t aging_ns;
};

int dp_fdb_init(struct dp_fdb *t, unsigned entries, uint64_t aging_ns);
void dp_fdb_free(struct dp_fdb *t);
struct dp_port *dp_fdb_lookup(struct dp_fdb *t, uint16_t vlan,
			      const uint8_t mac[6], uint64_t now);
void dp_fdb_learn(struct dp_fdb *t, uint16_t vlan, const uint8_t mac[6],
		  struct dp_port *p, uint64_t now);
int dp_fdb_add_static(struct dp_fdb *t, uint16_t vlan, const uint8_t mac[6],
		      struct dp_port *p);
/* Removes (vlan, mac) if it belongs to p. */
void dp_fdb_del(struct dp_fdb *t, uint16_t vlan, const uint8_t mac[6],
		const struct dp_port *p);
void dp_fdb_flush_port(struct dp_fdb *t, const struct dp_port *p);
void dp_fdb_age(struct dp_fdb *t, uint64_t now);
void dp_fdb_foreach(struct dp_fdb *t,
		    void (*fn)(struct dp_fdb_entry *e, void *arg), void *arg);
uint16_t dp_fdb_vlan(const struct dp_fdb_entry *e);
void dp_fdb_mac(const struct dp_fdb_entry *e, uint8_t mac[6]);

/* ---- vlan.c ---- */

/* Reads the frame's tag (out of band or inline, which it removes) and
 * sets f->vlan by the source port's VLAN mode; -1: drop (DP_DROP_VLAN). */
int dp_vlan_classify(const struct dp_port *src, struct dp_frame *f);
bool dp_vlan_member(const struct dp_port *p, uint16_t vlan);
/* The tag to put on f on its way out of p, or 0 for none. */
uint16_t dp_vlan_out_tag(const struct dp_port *p, const struct dp_frame *f);

/* ---- mcast.c ---- */

/* Whether the port's multicast filter lets a frame to dst through. */
bool dp_mcast_wants(const struct dp_port *p, const uint8_t *dst);
/* Frees the port's filter (dp_port_destroy). */
void dp_mcast_free(struct dp_port *p);

/* ---- security.c ---- */

bool dp_sec_forged(const struct dp_port *p, const uint8_t *src_mac);
bool dp_sec_inbound_blocked(const struct dp_port *p);
bool dp_sec_promiscuous(const struct dp_port *p);

/* ---- shaping.c ---- */

/* Returns how many queued frames a changed configuration discarded. */
unsigned dp_shaper_config(struct dp_shaper *s, const struct dp_shaping *cfg,
			  uint64_t now);
bool dp_shaper_admit(struct dp_shaper *s, uint64_t now, uint32_t bytes);
/* Frees the queue (detach); dp_shaper_config allocates it. */
void dp_shaper_free(struct dp_shaper *s);
/* Copies f to the tail of the queue; false when it is full. */
bool dp_shaper_enqueue(struct dp_shaper *s, const struct dp_frame *f);
/* Fills f with the head frame (its bytes stay in the ring) if the buckets
 * take it now, which charges them; false when empty or it must wait. */
bool dp_shaper_head(struct dp_shaper *s, uint64_t now, struct dp_frame *f);
void dp_shaper_pop(struct dp_shaper *s);
/* Recomputes due_ns after the queue changed. */
void dp_shaper_update_due(struct dp_shaper *s);

/* ---- teaming.c ---- */

struct dp_team {
	struct dp_port *slot[DP_TEAM_MAX];	/* uplink serving each slot */
	unsigned n_slots;
	struct dp_port *live[DP_TEAM_MAX];	/* the filled slots, in order */
	unsigned n_live;
};

/* Recomputes the port group's team and announces moved MACs. */
void dp_team_update(struct dp_switch *sw, struct dp_pg *pg);
struct dp_port *dp_team_select(const struct dp_pg *pg,
			       const struct dp_port *src,
			       const struct dp_frame *f);
bool dp_team_uses(const struct dp_pg *pg, const struct dp_port *uplink);
/* Sends RARPs for every MAC behind p out of the uplink it now uses. */
void dp_team_announce_port(struct dp_switch *sw, struct dp_port *p);
/* A 60-byte RARP request announcing mac; returns its length. */
unsigned dp_rarp_build(uint8_t *buf, const uint8_t mac[6]);

/* ---- switch.c / forward.c ---- */

struct dp_pg {
	char name[DP_NAME_MAX];
	uint16_t vlan;
	struct dp_policy policy;
	struct dp_team team;
	unsigned nports;
};

struct dp_switch {
	char name[DP_NAME_MAX];
	pthread_mutex_t lock;
	struct dp_port **ports;		/* virtual ports and uplinks */
	unsigned nports, cap_ports;
	struct dp_port **flush;		/* ports with queued frames, cap_ports long */
	unsigned nflush;
	struct dp_pg **pgs;
	unsigned npgs;
	struct dp_fdb fdb;
	uint64_t vlan_used[4096 / 64];	/* VLANs some port group carries */
	unsigned npromisc;		/* ports in promiscuous mode */
	unsigned mtu;
	uint32_t next_id;
	uint64_t gen;			/* numbers frames, to copy each once per port */
	uint64_t now, last_sweep;
	uint64_t (*clock)(void *arg);
	void *clock_arg;
};

static inline bool dp_mac_is_multicast(const uint8_t *mac)
{
	return mac[0] & 1;
}

/* Sends one frame the switch made itself (RARP) out of p, and flushes. */
void dp_switch_emit(struct dp_switch *sw, struct dp_port *p,
		    const struct dp_frame *f);
void dp_forward(struct dp_switch *sw, struct dp_port *src, struct dp_frame *f);
/* Forwards what src's shaping queue may send now (flush afterwards,
 * before anything else is queued: ports may still hold the bytes). */
void dp_shaper_drain(struct dp_switch *sw, struct dp_port *src);
void dp_flush_ports(struct dp_switch *sw);

#endif
