/*
 * The vSwitch datapath: standard-vSwitch forwarding between abstract ports.
 *
 * The library has two halves, as Open vSwitch separates its switching
 * logic from its netdev layer:
 *
 *   - the switch (struct dp_switch: switch.c, forward.c and one file per
 *     rule: fdb.c, vlan.c, security.c, shaping.c, teaming.c) decides where
 *     a frame goes.  It never knows whether a port is a TAP, a packet
 *     socket, a vhost-user queue or a test queue;
 *   - ports (struct dp_port with its struct dp_port_ops) move frames in and
 *     out: port_tap.c (VMkernel adapters), port_packet.c (uplinks),
 *     port_test.c (in-memory queues for unit tests).  VM ports will be a
 *     vhost-user back end implementing the same ops.
 *
 * runner.c reads every fd-backed port in batches and hands the frames to
 * the switch of the port; vmkd runs one in a thread or embeds its epoll fd.
 *
 * The control plane (vmkd) owns the configuration: it creates port groups
 * with their VLAN id and *effective* policy (struct dp_policy: vmkd has
 * already merged the vSwitch's policy with the port group's overrides),
 * attaches ports and uplinks, reports uplink link state and a guest's MAC
 * changes.  Every dp_switch_* call is safe against a runner forwarding at
 * the same time (one mutex per switch, held per batch of frames).
 *
 * Lifecycle of a port: create it with its kind's constructor, attach it
 * (dp_switch_attach or dp_switch_attach_uplink), dp_runner_add it if it
 * has an fd.  To remove it: dp_runner_del, dp_switch_detach,
 * dp_port_destroy, in that order.
 *
 * Functions returning int return 0 or a negative errno; err/errlen
 * arguments take a buffer of at least one byte for a one-line message.
 */
#ifndef VMK_DATAPATH_H
#define VMK_DATAPATH_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DP_NAME_MAX 32			/* port, port group and switch names */
#define DP_TEAM_MAX 8			/* uplinks in a team's active or standby list */
#define DP_VLAN_TRUNK 4095		/* port group VLAN id: all VLANs, guest tags */
#define DP_BATCH 32			/* frames read from one port per call */
#define DP_FRAME_MAX (65536 + 1024)	/* a 64 KiB GSO super-frame with its headers */
#define DP_ETH_HLEN 14

/* ---- policy: what vmkd computed for a port group ---- */

struct dp_security {
	bool allow_promiscuous;		/* receive a copy of every frame of the VLAN */
	bool allow_mac_changes;		/* accept a guest-set MAC that differs from the initial one */
	bool allow_forged_transmits;	/* accept a source MAC other than the effective one */
};

struct dp_shaping {			/* outbound: frames from the port into the switch */
	bool enabled;
	uint64_t average_bps;		/* bits per second, averaged over time */
	uint64_t peak_bps;		/* bits per second while spending the burst */
	uint64_t burst_bytes;		/* the most a port may save up */
};

enum dp_lb {
	DP_LB_SRCID,		/* route based on the originating virtual port */
	DP_LB_SRCMAC,		/* route based on a hash of the source MAC */
	DP_LB_IPHASH,		/* route based on a hash of the IP addresses */
	DP_LB_EXPLICIT,		/* use the first uplink of the failover order */
};

struct dp_teaming {
	enum dp_lb lb;
	bool notify_switches;	/* send RARP for the MACs that moved to another uplink */
	bool failback;		/* a recovered active uplink takes its slot back */
	/* Uplink port names, in order; an uplink in neither list is unused
	 * by the group (and a name not attached yet counts as down). */
	unsigned n_active, n_standby;
	char active[DP_TEAM_MAX][DP_NAME_MAX];
	char standby[DP_TEAM_MAX][DP_NAME_MAX];
};

struct dp_policy {
	struct dp_security security;
	struct dp_shaping shaping;
	struct dp_teaming teaming;
};

/* The reference's defaults for a standard vSwitch: promiscuous reject, MAC
 * changes and forged transmits accept, shaping off, originating port id,
 * notify switches and failback on, no uplinks in the order. */
void dp_policy_default(struct dp_policy *pol);

/* ---- frames ---- */

/*
 * One Ethernet frame inside the switch.  The bytes stay in the buffer the
 * port received them into; the switch only moves pointers.  After the
 * switch has classified it, data is untagged (an inline 802.1Q tag is
 * taken out) and vlan says which VLAN it belongs to; the tag a port needs
 * is added on the way out (dp_frame_iov) without touching the buffer.
 * vnet is the virtio-net header that came with the frame (offloads: GSO
 * type and size, partial checksum); csum_start and hdr_len count from the
 * untagged data.
 */
struct dp_frame {
	struct virtio_net_hdr vnet;
	uint8_t *data;
	uint32_t len;
	uint16_t tci;		/* 802.1Q tag control (PCP, DEI, VID) */
	bool tag_meta;		/* the port got tci out of band; data is untagged */
	uint16_t vlan;		/* set by the switch: 0 (untagged) or 1-4094 */
	uint8_t *buf;		/* storage a port's recv fills */
	uint32_t cap;
};

/*
 * Builds the I/O vector that sends f with its virtio-net header, adding
 * the 802.1Q tag `tag` after the MAC addresses when non-zero (and moving
 * csum_start/hdr_len in the header copy `hdr` by the 4 bytes).  tagbuf
 * holds the tag; both must live until the send.  Returns the number of
 * entries of iov used (at most 4).
 */
unsigned dp_frame_iov(const struct dp_frame *f, uint16_t tag,
		      struct virtio_net_hdr *hdr, uint8_t tagbuf[4],
		      struct iovec iov[4]);

/* ---- ports ---- */

enum dp_port_kind {
	DP_PORT_VMKNIC,	/* a TAP device with a virtio-net header (port_tap.c) */
	DP_PORT_UPLINK,	/* an AF_PACKET socket on a host interface (port_packet.c) */
	DP_PORT_VM,	/* a vhost-user back end (the VM issue) */
	DP_PORT_TEST,	/* in-memory queues (port_test.c) */
};

enum dp_drop {
	DP_DROP_MALFORMED,	/* shorter than an Ethernet header, truncated, bad source */
	DP_DROP_MTU,		/* larger than the vSwitch MTU (and not a GSO frame) */
	DP_DROP_VLAN,		/* wrong tagging for the port, or a VLAN no port group has */
	DP_DROP_FORGED,		/* forged transmits rejected */
	DP_DROP_MAC_CHANGE,	/* to a port whose MAC changed while MAC changes are rejected */
	DP_DROP_SHAPED,		/* over the port's traffic shaping limit */
	DP_DROP_NO_UPLINK,	/* for the uplink, but no uplink of the team is up */
	DP_DROP_UNKNOWN,	/* from an uplink to a MAC no port has */
	DP_DROP_LINK_DOWN,	/* received on an uplink whose link is down */
	DP_DROP_LOOP,		/* back to where it came from, or a local MAC seen on an uplink */
	DP_DROP_TX,		/* the port could not take it (queue full, error) */
	DP_DROP_MAX
};

/* "in" is from the port into the switch, "out" from the switch out of the
 * port.  Drops are counted on the port that sent the frame, except
 * MAC_CHANGE and TX, counted on the port that would have received it. */
struct dp_port_stats {
	uint64_t in_frames, in_bytes;
	uint64_t out_frames, out_bytes;
	uint64_t drops[DP_DROP_MAX];
};

struct dp_port;

/* What a kind of port implements.  recv and send are called from the
 * runner (send and flush with the switch's lock held). */
struct dp_port_ops {
	/* Fills up to n frames (each f[i].buf/cap is storage given by the
	 * caller); returns how many, 0 when nothing is waiting, or -errno. */
	int (*recv)(struct dp_port *p, struct dp_frame *f, unsigned n);
	/* Sends f, tagged with `tag` when non-zero; 0 or -errno.  A kind may
	 * queue the frame until flush: f's bytes stay valid until then. */
	int (*send)(struct dp_port *p, const struct dp_frame *f, uint16_t tag);
	void (*flush)(struct dp_port *p);	/* optional */
	void (*destroy)(struct dp_port *p);	/* frees the port and its fd */
};

/* A frame waiting in a shaper's queue: its bytes are at off in the
 * queue's byte ring, already classified (vlan, tci: as in dp_frame). */
struct dp_shaped_frame {
	struct virtio_net_hdr vnet;
	uint32_t off, len;
	uint16_t tci, vlan;
	bool tag_meta;
};

/* Token buckets of a shaped port (shaping.c); amounts are bytes scaled by
 * 8e9 so that refills are exact integers.  Frames the buckets cannot take
 * yet wait in a short FIFO (copied into a byte ring of qcap bytes, at
 * most DP_SHAPE_QFRAMES frames); due_ns says when its head frame can go
 * (0: empty), which the runner reads to arm its timer. */
#define DP_SHAPE_QFRAMES 256
#define DP_SHAPE_QMAX (256u * 1024)	/* queue bytes: 2x burst within [2 frames, this] */
struct dp_shaper {
	__int128 avg_tokens, peak_tokens;
	__int128 avg_depth, peak_depth;
	uint64_t avg_bps, peak_bps;
	uint64_t last_ns;
	bool enabled;
	struct dp_shaping cfg;		/* what it was configured with */
	struct dp_shaped_frame *q;	/* DP_SHAPE_QFRAMES descriptors, a ring */
	unsigned qhead, qn;
	uint8_t *qbuf;			/* qcap bytes */
	uint32_t qcap, qtail, qbytes;
	uint64_t due_ns;		/* atomic: the runner reads it unlocked */
};

struct dp_switch;
struct dp_pg;
struct dp_mcast;

struct dp_port {
	const struct dp_port_ops *ops;
	enum dp_port_kind kind;
	char name[DP_NAME_MAX];
	int fd;			/* -1 when the kind has none */
	bool link_up;		/* uplinks: the kind sets the first value */

	/* Owned by the switch (under its lock) from attach to detach. */
	struct dp_switch *sw;
	struct dp_pg *pg;	/* NULL for uplinks */
	bool uplink;		/* attached as an uplink */
	uint32_t id;		/* port id, unique in the switch */
	uint16_t vlan;		/* access VLAN (0: none); DP_VLAN_TRUNK for trunks and uplinks */
	uint8_t initial_mac[6];	/* configured (.vmx, vmknic) */
	uint8_t effective_mac[6];	/* what the guest set */
	bool queued;		/* on the switch's list of ports to flush */
	uint64_t seen_gen;	/* the frame this port last got a copy of */
	struct dp_mcast *mcast;	/* multicast filter (mcast.c); NULL: all */
	struct dp_shaper shaper;
	struct dp_port_stats stats;
};

/* For kinds: fills the common fields (fd -1, link up). */
void dp_port_init(struct dp_port *p, const struct dp_port_ops *ops,
		  enum dp_port_kind kind, const char *name);
/* Closes and frees a port that is detached. */
void dp_port_destroy(struct dp_port *p);
/* A consistent copy of the port's counters. */
void dp_port_get_stats(struct dp_port *p, struct dp_port_stats *out);
const char *dp_drop_name(enum dp_drop why);
const char *dp_port_kind_name(enum dp_port_kind kind);

/* ---- the switch ---- */

struct dp_switch_config {
	const char *name;
	unsigned mtu;			/* largest L2 payload; 0: no check */
	unsigned fdb_size;		/* MAC table entries; 0: 4096 */
	uint64_t aging_ns;		/* learned entries; 0: 300 s */
	/* Monotonic clock in ns; NULL: CLOCK_MONOTONIC.  Tests pass a fake. */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
};

struct dp_switch *dp_switch_new(const struct dp_switch_config *cfg);
/* Detaches (without destroying) the ports still attached, frees the rest. */
void dp_switch_free(struct dp_switch *sw);
int dp_switch_set_mtu(struct dp_switch *sw, unsigned mtu);

/* Adds the port group or replaces its VLAN and policy (VLAN 0-4095). */
int dp_pg_set(struct dp_switch *sw, const char *name, uint16_t vlan,
	      const struct dp_policy *pol);
/* -ENOENT, or -EBUSY while ports use it. */
int dp_pg_remove(struct dp_switch *sw, const char *name);

/* Attaches a virtual port (vmknic, VM, test) to a port group with its
 * initial MAC (which is also its effective MAC until the guest changes
 * it).  -EEXIST when another port has that MAC in that VLAN. */
int dp_switch_attach(struct dp_switch *sw, struct dp_port *p, const char *pg,
		     const uint8_t mac[6]);
/* Attaches a port as an uplink; its name is what teaming lists refer to. */
int dp_switch_attach_uplink(struct dp_switch *sw, struct dp_port *p);
int dp_switch_move(struct dp_switch *sw, struct dp_port *p, const char *pg);
void dp_switch_detach(struct dp_port *p);

/* The guest (or the vmknic's stack) set its MAC; frames from and to the
 * port follow the security policy against the initial MAC from now on. */
int dp_port_set_effective_mac(struct dp_port *p, const uint8_t mac[6]);
/*
 * Basic multicast filtering, as the reference's standard vSwitch does it:
 * a virtual port with a filter gets a flooded multicast frame only if its
 * destination MAC is one of the n given (the groups the port's owner
 * joined); broadcast always passes.  macs NULL: no filter, every
 * multicast (the state of a new port).  Promiscuous ports and uplinks get
 * everything regardless.  The list is copied.
 */
int dp_port_set_mcast_filter(struct dp_port *p, const uint8_t (*macs)[6],
			     unsigned n);
/* Link state of an uplink (a netlink watcher or the control plane). */
void dp_switch_set_link(struct dp_port *uplink, bool up);
/* Sends a RARP for each MAC behind the port out of its uplink now (when a
 * port connects or moves, as notify switches does on the reference). */
void dp_port_announce(struct dp_port *p);
/* The uplink the port's team sends the port's own frames to, or NULL. */
struct dp_port *dp_port_uplink(struct dp_port *p);

/* Sends on what the port's shaping queue may send now (the runner calls
 * it when the port's shaper.due_ns has come; tests after moving their
 * clock).  dp_switch_input does it for the port whose frames it gets. */
void dp_port_shaper_run(struct dp_port *p);
/* When p's queued frames may go next, in the switch's clock; 0: none. */
uint64_t dp_port_shaper_due(const struct dp_port *p);
/* Frames waiting in p's shaping queue. */
unsigned dp_port_shaper_queued(struct dp_port *p);

/* Forwards n frames that arrived on src (ports and the runner call it). */
void dp_switch_input(struct dp_switch *sw, struct dp_port *src,
		     struct dp_frame *f, unsigned n);

struct dp_fdb_info {
	uint16_t vlan;
	uint8_t mac[6];
	const char *port;
	bool is_static;
	uint64_t age_ns;
};
/* Calls fn for each MAC table entry; returns the number of entries. */
unsigned dp_switch_fdb_dump(struct dp_switch *sw,
			    void (*fn)(const struct dp_fdb_info *e, void *arg),
			    void *arg);

/* ---- port kinds ---- */

/*
 * The virtio-net header size of a vmknic TAP: 12 bytes, the
 * virtio_net_hdr_v1 layout (struct virtio_net_hdr and a 16-bit
 * num_buffers), which virtio 1.0 devices use and which vhost-user VM
 * ports will carry, so every kind of virtual port speaks the same header.
 * A TAP never merges receive buffers: the port writes num_buffers as 0
 * and ignores it on read; dp_frame keeps the 10-byte part.  vmkd's
 * vmknic_tap.c creates its TAPs with this size (VMKNIC_VNET_HDR_LEN) and
 * dp_tap_open does the same; the port refuses a TAP set otherwise.
 */
#define DP_TAP_VNET_HDR_LEN 12

/*
 * VMkernel adapters: a TAP opened with IFF_VNET_HDR (DP_TAP_VNET_HDR_LEN
 * bytes of header before each frame) and checksum/TSO offloads on, so
 * the stack behind it sends 64 KiB segments.  dp_tap_open creates (or
 * attaches to) the TAP `name` inside the named network namespace
 * (/run/netns/NETNS; NULL: the caller's), non-blocking.  Returns the fd
 * or -1 with a one-line message in err.
 */
int dp_tap_open(const char *name, const char *netns, char *err, size_t errlen);
int dp_tap_get_mac(int fd, uint8_t mac[6]);
int dp_tap_set_mac(int fd, const uint8_t mac[6]);
/* Takes ownership of fd.  NULL (errno EPROTO) when the TAP's vnet header
 * size is not DP_TAP_VNET_HDR_LEN, or out of memory. */
struct dp_port *dp_tap_port_new(const char *name, int fd);

/*
 * Uplinks: an AF_PACKET socket bound to host interface `ifname` (looked
 * up in `netns`, NULL: the caller's namespace), in promiscuous membership,
 * with PACKET_VNET_HDR so that GSO super-frames and partial checksums
 * cross it whole (the kernel segments what the NIC cannot).  The port is
 * named `name` (vmnicN) and starts with the interface's link state.
 */
struct dp_port *dp_packet_port_new(const char *name, const char *ifname,
				   const char *netns, char *err, size_t errlen);

/* Whether interface ifname (of fd's namespace) is up with its carrier on;
 * fd is any socket. */
bool dp_link_is_up(int fd, const char *ifname);

/*
 * VM ports: a vhost-user back end (port_vhost.c, docs/vms.md) that
 * connects to the front end's socket at socket_path (vmx listens there).
 * port->fd is an epoll fd of the port's own (socket and TX kick), so the
 * runner serves it like any other port.  Frames carry the 12-byte
 * virtio_net_hdr_v1 in the rings, as TAPs do.  A front end that breaks
 * the protocol, or hangs up, leaves the port disconnected: it then drops
 * what the switch sends it (DP_DROP_TX) until destroyed; it never
 * reconnects by itself.  NULL with a one-line message in err when the
 * socket cannot be reached.
 */
struct dp_port *dp_vhost_port_new(const char *name, const char *socket_path,
				  char *err, size_t errlen);
bool dp_vhost_port_connected(struct dp_port *p);

/* Test ports: frames sent to the port queue in memory. */
struct dp_port *dp_test_port_new(const char *name);
/* Runs one frame from the port into its switch. */
void dp_test_port_inject(struct dp_port *p, const void *frame, size_t len,
			 const struct virtio_net_hdr *vnet);
/* Takes the oldest frame the switch sent to the port (tag inline): its
 * length, or -1 when none. */
int dp_test_port_pop(struct dp_port *p, void *buf, size_t cap,
		     struct virtio_net_hdr *vnet);
unsigned dp_test_port_pending(struct dp_port *p);
void dp_test_port_clear(struct dp_port *p);

/* Runs fn(arg) in the network namespace /run/netns/NETNS (NULL: here,
 * directly), in a short-lived thread that enters it; returns fn's
 * result, or -errno if the namespace could not be opened or entered. */
int dp_in_netns(const char *netns, int (*fn)(void *arg), void *arg);

/* ---- the runner ---- */

struct dp_runner;

struct dp_runner *dp_runner_new(void);
void dp_runner_free(struct dp_runner *r);	/* stops it first */
/* Watches the port's fd (the port must be attached before frames come). */
int dp_runner_add(struct dp_runner *r, struct dp_port *p);
/* After it returns the runner no longer touches p. */
void dp_runner_del(struct dp_runner *r, struct dp_port *p);
/* To embed: an epoll fd that is readable when dp_runner_poll has work. */
int dp_runner_fd(struct dp_runner *r);
/* Waits up to timeout_ms for frames and forwards them; frames handled. */
int dp_runner_poll(struct dp_runner *r, int timeout_ms);
/* Or let it run in a thread of its own, which after a frame keeps polling
 * for busy_poll_us (default DP_BUSY_POLL_US; 0: always sleep) before it
 * sleeps again (runner.c explains why). */
#define DP_BUSY_POLL_US 100
void dp_runner_set_busy_poll(struct dp_runner *r, unsigned usec);
int dp_runner_start(struct dp_runner *r);
void dp_runner_stop(struct dp_runner *r);

#endif
