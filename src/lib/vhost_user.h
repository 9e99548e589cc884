/*
 * vhost-user: the wire format, message I/O, and the front end's helpers.
 *
 * Protocol: QEMU's docs/interop/vhost-user.rst.  A front end (vmx, QEMU,
 * the benchmark's synthetic front end) owns a virtio device and its guest
 * memory; a back end (vmkd's VM ports, port_vhost.c) serves the device's
 * virtqueues.  They talk over a Unix stream socket: each message is a
 * 12-byte header (request, flags, payload size) and a payload of at most
 * VHU_PAYLOAD_MAX bytes; file descriptors (guest memory, eventfds) travel
 * as SCM_RIGHTS with the message.  All fields are host-endian (both ends
 * are on one machine).
 *
 * Which end listens does not matter to the protocol: in vmk the front end
 * (vmx) is the socket server and vmkd connects (docs/vms.md).
 *
 * This file knows the format and nothing of what a back end does with
 * it; the back end's device state is vhost_user_backend.[ch].
 *
 * Untrusted input: vhu_recv() checks what every request it knows carries
 * (payload size, number of fds) before anyone looks at the payload, so a
 * caller sees only well-formed messages of known requests, or an error.
 */
#ifndef VMK_VHOST_USER_H
#define VMK_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- wire format ---- */

#define VHU_VERSION 0x1u
#define VHU_FLAG_VERSION_MASK 0x3u
#define VHU_FLAG_REPLY (1u << 2)
#define VHU_FLAG_NEED_REPLY (1u << 3)

#define VHU_HDR_SIZE 12u
#define VHU_MAX_REGIONS 8u	/* memory regions in SET_MEM_TABLE */
#define VHU_MAX_FDS 8u		/* fds with one message */

enum vhu_request {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_LOG_BASE = 6,
	VHU_SET_LOG_FD = 7,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_SEND_RARP = 19,
	VHU_NET_SET_MTU = 20,
	VHU_REQUEST_MAX
};

/* Virtio feature bit that says the back end has protocol features. */
#define VHU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VHU_PROTOCOL_F_MQ 0
#define VHU_PROTOCOL_F_LOG_SHMFD 1
#define VHU_PROTOCOL_F_RARP 2
#define VHU_PROTOCOL_F_REPLY_ACK 3
#define VHU_PROTOCOL_F_NET_MTU 4
#define VHU_PROTOCOL_F_CONFIG 9

/* The u64 of SET_VRING_KICK/CALL/ERR: the ring index and a flag that no
 * fd comes with the message (the other end then polls). */
#define VHU_VRING_IDX_MASK 0xffu
#define VHU_VRING_NOFD (1u << 8)

/* SET_VRING_ADDR flags */
#define VHU_VRING_F_LOG 1u

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;		/* payload bytes that follow */
};

/* SET/GET_VRING_BASE, SET_VRING_NUM, SET_VRING_ENABLE */
struct vhu_vring_state {
	uint32_t index;
	uint32_t num;
};

/* SET_VRING_ADDR: ring addresses in the front end's virtual address space */
struct vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhu_mem_region {
	uint64_t gpa;		/* guest-physical start */
	uint64_t size;
	uint64_t uva;		/* where the front end has it mapped */
	uint64_t mmap_offset;	/* where in the region's fd it starts */
};

/* SET_MEM_TABLE: one fd per region, in order */
struct vhu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhu_mem_region region[VHU_MAX_REGIONS];
};

#define VHU_MEM_TABLE_SIZE(n) (8u + 32u * (n))
#define VHU_PAYLOAD_MAX ((uint32_t)sizeof(struct vhu_mem_table))

_Static_assert(sizeof(struct vhu_hdr) == VHU_HDR_SIZE, "header layout");
_Static_assert(sizeof(struct vhu_vring_addr) == 40, "vring addr layout");
_Static_assert(sizeof(struct vhu_mem_region) == 32, "region layout");
_Static_assert(sizeof(struct vhu_mem_table) == VHU_MEM_TABLE_SIZE(8), "table layout");

/* One message.  The payload is sent right after the 12 header bytes (the
 * struct's padding between them is not on the wire). */
struct vhu_msg {
	struct vhu_hdr hdr;
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		struct vhu_vring_addr addr;
		struct vhu_mem_table mem;
		uint8_t raw[VHU_PAYLOAD_MAX];
	} payload;
};

/* Name of a request for messages ("SET_MEM_TABLE"), "unknown" otherwise. */
const char *vhu_request_name(uint32_t request);

/*
 * Checks a message of a known request against what it must carry: the
 * payload size, the number of fds, and for SET_MEM_TABLE the region count
 * (1..8, one fd each).  Replies (VHU_FLAG_REPLY) are checked as replies.
 * Returns NULL when fine, else a short reason ("payload of 4 bytes, 8
 * expected").  Unknown requests pass: the back end decides about them.
 */
const char *vhu_msg_check(const struct vhu_msg *m, unsigned nfds);

/*
 * Sends m (header and m->hdr.size payload bytes) with nfds (at most
 * VHU_MAX_FDS) descriptors.  The version bits of flags are set here.
 * A full socket is waited for VHU_SEND_WAIT_MS in all, then -ETIMEDOUT.
 * Returns 0 or -errno (-EMSGSIZE for a size over VHU_PAYLOAD_MAX).
 */
#define VHU_SEND_WAIT_MS 1000
int vhu_send(int fd, struct vhu_msg *m, const int *fds, unsigned nfds);
/* The same with the wait given: 0 never waits (the back end: a front end
 * that does not read its replies is not waited for; -ETIMEDOUT at once). */
int vhu_send_wait(int fd, struct vhu_msg *m, const int *fds, unsigned nfds,
		  int wait_ms);

/*
 * Reading without waiting (the back end: vmkd reads on the datapath's
 * thread, which must never wait on one front end).  A reader keeps what
 * came of a message, and the fds that came with it, until the rest comes:
 * a front end that sends half a message stalls only itself.
 */
struct vhu_reader {
	struct vhu_msg msg;	/* the message being read; its header stays
				 * readable after an error, for messages */
	uint32_t got;		/* header and payload bytes read so far */
	int fds[VHU_MAX_FDS];
	unsigned nfds;
};

void vhu_reader_init(struct vhu_reader *r);
/* Forgets a partial message, closing its fds. */
void vhu_reader_reset(struct vhu_reader *r);

/*
 * Reads what the socket has (never waits).  Returns 1 when a whole
 * message is in r->msg (checked with vhu_msg_check; its fds moved to
 * fds[], *nfds of them, owned by the caller) and the reader is ready for
 * the next one; -EAGAIN when no whole message is there yet (what came is
 * kept); or an error, the reader then reset with every fd closed:
 * -ECONNRESET (EOF, even mid-message), -EPROTO (as vhu_recv; *why says
 * why), other -errno from recvmsg.
 */
int vhu_read(int fd, struct vhu_reader *r, int fds[VHU_MAX_FDS], unsigned *nfds,
	     const char **why);

/*
 * Receives one message and the fds that came with it into fds[VHU_MAX_FDS]
 * (*nfds says how many; the caller owns them).  On a non-blocking socket
 * with nothing waiting it returns -EAGAIN and changes nothing; once part
 * of a message came, the rest is waited for at most VHU_PAYLOAD_WAIT_MS.
 * For front ends and tests (the back end uses a reader).  Errors, with
 * every received fd closed:
 *   -ECONNRESET  the peer closed the connection (EOF)
 *   -EPROTO      bad version, oversized payload, more than VHU_MAX_FDS
 *                fds, truncated ancillary data, or vhu_msg_check refused
 *                it (then *why, if not NULL, says why)
 *   -ETIMEDOUT   part of a message without the rest
 *   other -errno from recvmsg
 */
#define VHU_PAYLOAD_WAIT_MS 200
int vhu_recv(int fd, struct vhu_msg *m, int fds[VHU_MAX_FDS], unsigned *nfds,
	     const char **why);

/* ---- front end helpers (vmx, the benchmark's front end, tests) ---- */

/*
 * A connection as seen by the front end.  Each helper sends one request
 * and, for GET_* requests (and for any request once REPLY_ACK was
 * negotiated with vhu_front_set_protocol_features), waits up to
 * timeout_ms for the reply.  All return 0 or -errno: -EIO when the back
 * end acknowledged with a failure, -EPROTO for a malformed or mismatched
 * reply, -ETIMEDOUT when no reply came in time.  The socket may be
 * blocking or not.
 */
struct vhu_front {
	int fd;
	uint64_t protocol_features;	/* what was set with SET_PROTOCOL_FEATURES */
	int timeout_ms;			/* per reply; vhu_front_init sets 5000 */
};

/* A region of guest memory as the front end has it. */
struct vhu_front_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;		/* front end's mapping, as a number */
	int fd;			/* backing fd (memfd), shared with the back end */
	uint64_t offset;	/* where the region starts in fd */
};

void vhu_front_init(struct vhu_front *f, int fd);
/* Connects to a listening Unix socket (for tests and front ends that are
 * the client); returns the connected fd or -errno. */
int vhu_connect(const char *path);

int vhu_front_get_features(struct vhu_front *f, uint64_t *features);
int vhu_front_set_features(struct vhu_front *f, uint64_t features);
int vhu_front_get_protocol_features(struct vhu_front *f, uint64_t *pf);
/* Records pf in f: REPLY_ACK in it makes every later request acknowledged. */
int vhu_front_set_protocol_features(struct vhu_front *f, uint64_t pf);
int vhu_front_set_owner(struct vhu_front *f);
int vhu_front_get_queue_num(struct vhu_front *f, uint64_t *num);
int vhu_front_set_mem_table(struct vhu_front *f,
			    const struct vhu_front_region *r, unsigned n);
int vhu_front_set_vring_num(struct vhu_front *f, unsigned idx, unsigned num);
int vhu_front_set_vring_base(struct vhu_front *f, unsigned idx, unsigned base);
/* Ring addresses as the front end's virtual addresses. */
int vhu_front_set_vring_addr(struct vhu_front *f, unsigned idx,
			     uint64_t desc, uint64_t avail, uint64_t used);
/* efd < 0 sends the no-fd flag. */
int vhu_front_set_vring_kick(struct vhu_front *f, unsigned idx, int efd);
int vhu_front_set_vring_call(struct vhu_front *f, unsigned idx, int efd);
int vhu_front_set_vring_enable(struct vhu_front *f, unsigned idx, bool on);
/* Stops the ring in the back end and returns where it stopped (the next
 * avail index it would have read). */
int vhu_front_get_vring_base(struct vhu_front *f, unsigned idx, unsigned *base);

/*
 * One ring, set up the usual way: NUM, BASE, ADDR, CALL, KICK, then
 * SET_VRING_ENABLE 1 when `enable` (needed once VHU_F_PROTOCOL_FEATURES
 * was negotiated: rings then start disabled).  call/kick < 0: no fd.
 */
int vhu_front_setup_vring(struct vhu_front *f, unsigned idx, unsigned num,
			  unsigned base, uint64_t desc, uint64_t avail,
			  uint64_t used, int kick, int call, bool enable);

#endif
