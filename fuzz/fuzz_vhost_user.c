/*
 * libFuzzer target for the vhost-user back end (src/lib/vhost_user.c
 * message checks, src/lib/vhost_user_backend.c): a hostile front end
 * sends any sequence of messages, with any fds, and writes anything into
 * the guest memory it shared, while the back end moves frames through
 * the rings as vmkd's VM port would.
 *
 * The input is a list of operations, each an opcode byte and its
 * arguments (little-endian; a short input ends the list):
 *   0 message   request u8, flags u8, size u16 (mod VHU_PAYLOAD_MAX+1),
 *               fd spec u8 (count = low nibble mod 10, kind of fd i from
 *               bit i%4 of the high nibble: 0 guest memfd, 1 eventfd;
 *               a count of 9 gives a pipe's read end),
 *               then `size` payload bytes
 *   1 handshake queue size log2 u8 (mod 9), features u64 (masked with
 *               what is offered): a well-formed setup of both rings in
 *               the guest memory, as vmx sends it
 *   2 poke      offset u16, length u8, bytes: writes guest memory
 *   3 tx        count u8 (mod 64): takes frames from the TX ring
 *   4 rx        length u16, 10 header bytes: puts a frame into RX
 *   5 signal    both rings' call fds
 *   6 hangup    the connection drops: the back end is reset
 *   7 stream    length u16 (mod 600), fd kind u8 (bit 0: one eventfd
 *               with the bytes, bit 1: a memfd too), then `length` bytes
 *               written into a socket that vmkd's reader (vhu_read)
 *               takes messages from, in whatever pieces they come
 * Every message goes through vhu_msg_check first (vhu_recv does it in
 * vmkd) and a refused one resets the back end, as a disconnect does.
 *
 * Guest memory is one 64 KiB memfd mapped here too, so pokes reach what
 * the back end maps; rings sit at fixed offsets (see handshake()).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "vhost_user.h"
#include "vhost_user_backend.h"

#define MEM_SIZE 0x10000
#define GPA 0x100000ull
#define UVA 0x7f0000000000ull
#define MAX_OPS 256

/* fuzz_take, but a short input reads as zeros and ends the list */
static bool take(struct fuzz_in *in, void *dst, size_t len)
{
	if (fuzz_take(in, dst, len))
		return true;
	memset(dst, 0, len);
	in->n = 0;
	return false;
}

static uint8_t u8(struct fuzz_in *in)
{
	uint8_t v;

	take(in, &v, 1);
	return v;
}

static uint16_t u16(struct fuzz_in *in)
{
	uint8_t b[2];

	take(in, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint64_t u64(struct fuzz_in *in)
{
	uint64_t v = 0;
	uint8_t b[8];

	take(in, b, 8);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

struct world {
	int memfd;
	uint8_t *mem;
	int kick[2], call[2];
	struct vhu_backend be;
	int sv[2];		/* sv[0]: the front end's end, sv[1]: vmkd's */
	struct vhu_reader rd;
	uint8_t frame[70000];
};

static int make_fd(struct world *w, int kind)
{
	if (kind == 1)
		return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (kind == 2) {
		int p[2];
		if (pipe(p) < 0)
			return -1;
		close(p[1]);
		return p[0];
	}
	return dup(w->memfd);
}

/* Handles m as the port does: check, handle; a refusal resets. */
static void deliver(struct world *w, struct vhu_msg *m, int *fds, unsigned nfds)
{
	if (vhu_msg_check(m, nfds)) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		vhu_be_reset(&w->be);
		return;
	}
	if (vhu_be_handle(&w->be, m, fds, nfds) < 0)
		vhu_be_reset(&w->be);
}

static void op_message(struct world *w, struct fuzz_in *in)
{
	struct vhu_msg m;
	int fds[VHU_MAX_FDS];
	unsigned nfds = 0;

	memset(&m, 0, sizeof(m));
	m.hdr.request = u8(in);
	m.hdr.flags = u8(in);
	m.hdr.size = u16(in) % (VHU_PAYLOAD_MAX + 1);
	uint8_t spec = u8(in);
	unsigned want = (spec & 15) % 10;
	take(in, m.payload.raw, m.hdr.size);
	if (want == 9) {
		fds[nfds] = make_fd(w, 2);
		if (fds[nfds] >= 0)
			nfds++;
	} else {
		for (unsigned i = 0; i < want && i < VHU_MAX_FDS; i++) {
			fds[nfds] = make_fd(w, spec >> (4 + i % 4) & 1);
			if (fds[nfds] >= 0)
				nfds++;
		}
	}
	deliver(w, &m, fds, nfds);
}

static void send_u64(struct world *w, uint32_t req, uint64_t v, int fd)
{
	struct vhu_msg m = { .hdr = { req, VHU_VERSION, 8 }, .payload.u64 = v };
	int fds[1] = { fd >= 0 ? dup(fd) : -1 };

	deliver(w, &m, fds, fd >= 0 && fds[0] >= 0 ? 1 : 0);
}

static void send_state(struct world *w, uint32_t req, uint32_t idx, uint32_t num)
{
	struct vhu_msg m = { .hdr = { req, VHU_VERSION, 8 },
			     .payload.state = { idx, num } };

	deliver(w, &m, NULL, 0);
}

/* Rings of queue q: desc at q*0x4000, avail +0x1000, used +0x2000. */
static void handshake(struct world *w, struct fuzz_in *in)
{
	unsigned num = 1u << (u8(in) % 9);
	uint64_t feat = u64(in) & vhu_be_features;
	struct vhu_msg m = { .hdr = { VHU_SET_MEM_TABLE, VHU_VERSION,
				      VHU_MEM_TABLE_SIZE(1) } };
	int fd = dup(w->memfd);

	send_u64(w, VHU_SET_FEATURES, feat, -1);
	m.payload.mem.nregions = 1;
	m.payload.mem.region[0] = (struct vhu_mem_region){ GPA, MEM_SIZE, UVA, 0 };
	deliver(w, &m, &fd, fd >= 0 ? 1 : 0);
	for (uint32_t q = 0; q < 2; q++) {
		uint64_t base = UVA + q * 0x4000;
		struct vhu_msg a = { .hdr = { VHU_SET_VRING_ADDR, VHU_VERSION, 40 },
				     .payload.addr = { .index = q, .desc = base,
						       .avail = base + 0x1000,
						       .used = base + 0x2000 } };
		send_state(w, VHU_SET_VRING_NUM, q, num);
		send_state(w, VHU_SET_VRING_BASE, q, 0);
		deliver(w, &a, NULL, 0);
		send_u64(w, VHU_SET_VRING_CALL, q, w->call[q]);
		send_u64(w, VHU_SET_VRING_KICK, q, w->kick[q]);
		send_state(w, VHU_SET_VRING_ENABLE, q, 1);
	}
}

static void op_poke(struct world *w, struct fuzz_in *in)
{
	uint16_t off = u16(in);
	uint8_t len = u8(in);
	uint8_t buf[256];

	take(in, buf, len);
	if ((uint32_t)off + len <= MEM_SIZE)
		memcpy(w->mem + off, buf, len);
}

static void op_tx(struct world *w, struct fuzz_in *in)
{
	unsigned n = u8(in) % 64;
	struct virtio_net_hdr h;
	uint32_t len;

	for (unsigned i = 0; i < n; i++) {
		int r = vhu_be_tx_pop(&w->be, &h, w->frame, sizeof(w->frame), &len);
		if (r < 0)
			vhu_be_reset(&w->be);
		if (r <= 0)
			return;
		if (len > sizeof(w->frame))
			abort();
	}
}

static void op_stream(struct world *w, struct fuzz_in *in)
{
	uint16_t len = u16(in) % 600;
	uint8_t kind = u8(in), buf[600];
	int fds[2], n = 0;

	take(in, buf, len);
	if (kind & 1)
		fds[n++] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (kind & 2)
		fds[n++] = dup(w->memfd);
	union { char b[CMSG_SPACE(sizeof(int) * 2)]; struct cmsghdr a; } ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n && len) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (len && sendmsg(w->sv[0], &mh, MSG_DONTWAIT) < 0) {
		/* a full socket: the bytes are lost, as a stalled peer's are */
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	for (int i = 0; i < 64; i++) {
		struct vhu_msg *m = &w->rd.msg;
		int got[VHU_MAX_FDS];
		unsigned ngot;
		int rc = vhu_read(w->sv[1], &w->rd, got, &ngot, NULL);
		if (rc == -EAGAIN)
			break;
		if (rc < 0) {
			vhu_be_reset(&w->be);
			continue;
		}
		if (vhu_be_handle(&w->be, m, got, ngot) < 0)
			vhu_be_reset(&w->be);
	}
}

static void op_rx(struct world *w, struct fuzz_in *in)
{
	uint16_t len = u16(in);
	struct virtio_net_hdr h;
	struct iovec iov[2] = {
		{ w->frame, len / 2 },
		{ w->frame + len / 2, len - len / 2 },
	};

	take(in, &h, sizeof(h));
	if (vhu_be_rx_put(&w->be, &h, iov, 2) == -EIO)
		vhu_be_reset(&w->be);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct world w;
	struct fuzz_in in = { data, size };

	w.memfd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (w.memfd < 0 || ftruncate(w.memfd, MEM_SIZE) < 0)
		abort();
	w.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, w.memfd, 0);
	if (w.mem == MAP_FAILED)
		abort();
	for (int i = 0; i < 2; i++) {
		w.kick[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w.call[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	vhu_be_init(&w.be);
	vhu_reader_init(&w.rd);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, w.sv) < 0)
		abort();

	for (int ops = 0; ops < MAX_OPS && in.n; ops++) {
		switch (u8(&in) % 8) {
		case 0: op_message(&w, &in); break;
		case 1: handshake(&w, &in); break;
		case 2: op_poke(&w, &in); break;
		case 3: op_tx(&w, &in); break;
		case 4: op_rx(&w, &in); break;
		case 5:
			vhu_be_signal(&w.be, VHU_BE_RXQ);
			vhu_be_signal(&w.be, VHU_BE_TXQ);
			break;
		case 6: vhu_be_reset(&w.be); break;
		case 7: op_stream(&w, &in); break;
		}
	}

	vhu_be_reset(&w.be);
	vhu_reader_reset(&w.rd);
	close(w.sv[0]);
	close(w.sv[1]);
	for (int i = 0; i < 2; i++) {
		close(w.kick[i]);
		close(w.call[i]);
	}
	munmap(w.mem, MEM_SIZE);
	close(w.memfd);
	return 0;
}
