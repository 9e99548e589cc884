/*
 * Uplink ports: an AF_PACKET socket bound to a host interface (vmnicN).
 *
 * The socket sees every frame of the interface (ETH_P_ALL, promiscuous
 * membership, which the kernel drops when the socket closes) but not the
 * ones it sends itself (PACKET_IGNORE_OUTGOING, and the packet type as a
 * second check).  The kernel may take a VLAN tag off a received frame and
 * keep it aside (hardware or veth VLAN acceleration); PACKET_AUXDATA
 * gives it back and the frame goes into the switch with the tag out of
 * band, as the switch keeps it anyway.
 *
 * Offloads: the socket has PACKET_VNET_HDR, so each frame crosses it with
 * a struct virtio_net_hdr, exactly as on the TAPs.  A 64 KiB TCP segment
 * from a vmknic goes out as one write with its GSO type and size, and the
 * kernel segments it (in the NIC when it does TSO, in software in the
 * driver's transmit path otherwise) and fills in the checksum; a GSO frame
 * that the kernel hands us (GRO on the NIC, or a veth peer's TSO) arrives
 * whole, with a partial checksum the receiving TAP accepts.  That is
 * chosen over segmenting in the switch: the kernel's segmentation is
 * correct for every protocol it offloads and uses the NIC's, and writing
 * one frame costs one copy where user-space segmentation would copy and
 * checksum each 1500-byte piece.  Without the header a packet socket would
 * also hand over frames whose checksum is not yet computed as if complete.
 *
 * Frames are received with recvmmsg, a batch per call, straight into the
 * runner's buffers, and sent by queueing them and issuing one sendmmsg
 * when the switch flushes the port at the end of a batch (or the queue is
 * full).  A frame the kernel refuses is counted as a tx drop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "datapath.h"

#define SOCK_BUF (8 << 20)

struct packet_port {
	struct dp_port port;
	int ifindex;
	unsigned nq;			/* frames queued for sendmmsg */
	struct mmsghdr tx[DP_BATCH];
	struct iovec txiov[DP_BATCH][4];
	struct virtio_net_hdr txhdr[DP_BATCH];
	uint8_t txtag[DP_BATCH][4];
	uint32_t txlen[DP_BATCH];
	struct mmsghdr rx[DP_BATCH];
	struct iovec rxiov[DP_BATCH][2];
	struct sockaddr_ll from[DP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct cmsghdr align;
	} ctl[DP_BATCH];
};

static struct packet_port *to_packet(struct dp_port *p)
{
	return (struct packet_port *)p;
}

static void rx_prepare(struct packet_port *pp, struct dp_frame *f, unsigned i)
{
	pp->rxiov[i][0] = (struct iovec){ &f->vnet, sizeof(f->vnet) };
	pp->rxiov[i][1] = (struct iovec){ f->buf, f->cap };
	pp->rx[i].msg_hdr = (struct msghdr){
		.msg_name = &pp->from[i],
		.msg_namelen = sizeof(pp->from[i]),
		.msg_iov = pp->rxiov[i],
		.msg_iovlen = 2,
		.msg_control = pp->ctl[i].buf,
		.msg_controllen = sizeof(pp->ctl[i].buf),
	};
}

static void rx_vlan(struct msghdr *m, struct dp_frame *f)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
			continue;
		struct tpacket_auxdata aux;
		memcpy(&aux, CMSG_DATA(c), sizeof(aux));
		if (aux.tp_status & TP_STATUS_VLAN_VALID) {
			f->tci = aux.tp_vlan_tci;
			f->tag_meta = true;
		}
	}
}

/* Fills in f from message i; false for a frame to skip. */
static bool rx_one(struct packet_port *pp, struct dp_frame *f, unsigned i)
{
	struct mmsghdr *m = &pp->rx[i];

	if (pp->from[i].sll_pkttype == PACKET_OUTGOING)
		return false;
	f->data = f->buf;
	f->len = 0;		/* runt or truncated: the switch drops it */
	if (m->msg_len < sizeof(f->vnet) || (m->msg_hdr.msg_flags & MSG_TRUNC))
		return true;
	f->len = m->msg_len - (uint32_t)sizeof(f->vnet);
	rx_vlan(&m->msg_hdr, f);
	return true;
}

static int packet_recv(struct dp_port *p, struct dp_frame *f, unsigned n)
{
	struct packet_port *pp = to_packet(p);
	unsigned got = 0;

	if (n > DP_BATCH)
		n = DP_BATCH;
	for (unsigned i = 0; i < n; i++)
		rx_prepare(pp, &f[i], i);
	int r = recvmmsg(p->fd, pp->rx, n, MSG_DONTWAIT, NULL);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (unsigned i = 0; i < (unsigned)r; i++) {
		if (!rx_one(pp, &f[i], i))
			continue;
		if (got != i) {
			struct dp_frame tmp = f[got];
			f[got] = f[i];
			f[i] = tmp;
		}
		got++;
	}
	return (int)got;
}

static void tx_lost(struct dp_port *p, uint32_t len)
{
	p->stats.drops[DP_DROP_TX]++;
	p->stats.out_frames--;
	p->stats.out_bytes -= len;
}

static void packet_flush(struct dp_port *p)
{
	struct packet_port *pp = to_packet(p);
	unsigned done = 0;

	while (done < pp->nq) {
		int r = sendmmsg(p->fd, pp->tx + done, pp->nq - done, MSG_DONTWAIT);
		if (r > 0) {
			done += (unsigned)r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else {
			/* the frame at `done` was refused: count it, go on */
			tx_lost(p, pp->txlen[done]);
			done++;
		}
	}
	pp->nq = 0;
}

static int packet_send(struct dp_port *p, const struct dp_frame *f,
		       uint16_t tag)
{
	struct packet_port *pp = to_packet(p);

	if (pp->nq == DP_BATCH)
		packet_flush(p);
	unsigned i = pp->nq++;
	unsigned n = dp_frame_iov(f, tag, &pp->txhdr[i], pp->txtag[i],
				  pp->txiov[i]);
	pp->tx[i].msg_hdr = (struct msghdr){
		.msg_iov = pp->txiov[i],
		.msg_iovlen = n,
	};
	pp->txlen[i] = f->len + (tag ? 4 : 0);
	return 0;
}

static void packet_destroy(struct dp_port *p)
{
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

static const struct dp_port_ops packet_ops = {
	.recv = packet_recv,
	.send = packet_send,
	.flush = packet_flush,
	.destroy = packet_destroy,
};

struct packet_open_args {
	const char *ifname;
	int ifindex;
	bool link_up;
	char *err;
	size_t errlen;
};

static int packet_fail(int fd, struct packet_open_args *a, const char *what)
{
	snprintf(a->err, a->errlen, "uplink %s: %s: %s", a->ifname, what,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

static void set_buffers(int fd)
{
	if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, SOCK_BUF) < 0)
		set_int(fd, SOL_SOCKET, SO_RCVBUF, SOCK_BUF);
	if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, SOCK_BUF) < 0)
		set_int(fd, SOL_SOCKET, SO_SNDBUF, SOCK_BUF);
}

/*
 * The link is the carrier (ETHTOOL_GLINK), not IFF_RUNNING: the kernel
 * sets IFF_RUNNING from the operational state, which its link watch
 * updates up to a second after the carrier changed (for any device it does
 * not count as urgent, such as a veth whose peer has the same ifindex in
 * another namespace), and frames that arrive meanwhile would be dropped as
 * coming from a down uplink.  A device without ETHTOOL_GLINK falls back to
 * IFF_RUNNING.
 */
bool dp_link_is_up(int fd, const char *ifname)
{
	struct ifreq ifr;
	struct ethtool_value ev = { .cmd = ETHTOOL_GLINK };

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
		return false;
	bool running = ifr.ifr_flags & IFF_RUNNING;
	ifr.ifr_data = (char *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		return running;
	return ev.data != 0;
}

static int packet_join(int fd, int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	struct packet_mreq mr = { .mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC };

	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -1;
	return setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
}

static int packet_open_here(void *arg)
{
	struct packet_open_args *a = arg;
	/* protocol 0: nothing arrives before bind picks the interface */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return packet_fail(fd, a, "cannot open a packet socket");
	a->ifindex = (int)if_nametoindex(a->ifname);
	if (!a->ifindex)
		return packet_fail(fd, a, "no such interface");
	if (set_int(fd, SOL_PACKET, PACKET_VNET_HDR, 1) < 0 ||
	    set_int(fd, SOL_PACKET, PACKET_AUXDATA, 1) < 0)
		return packet_fail(fd, a, "cannot set packet options");
	set_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
	set_buffers(fd);
	if (packet_join(fd, a->ifindex) < 0)
		return packet_fail(fd, a, "cannot bind");
	a->link_up = dp_link_is_up(fd, a->ifname);
	return fd;
}

struct dp_port *dp_packet_port_new(const char *name, const char *ifname,
				   const char *netns, char *err, size_t errlen)
{
	struct packet_open_args a = { .ifname = ifname, .err = err, .errlen = errlen };

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "uplink interface name '%s' is not valid",
			 ifname ? ifname : "");
		return NULL;
	}
	err[0] = 0;
	int fd = dp_in_netns(netns, packet_open_here, &a);
	if (fd < 0 && !err[0])		/* the opener did not run */
		snprintf(err, errlen, "uplink %s: cannot enter network namespace %s: %s",
			 ifname, netns, strerror(-fd));
	if (fd < 0)
		return NULL;
	struct packet_port *pp = calloc(1, sizeof(*pp));
	if (!pp) {
		close(fd);
		snprintf(err, errlen, "uplink %s: out of memory", ifname);
		return NULL;
	}
	dp_port_init(&pp->port, &packet_ops, DP_PORT_UPLINK, name ? name : ifname);
	pp->port.fd = fd;
	pp->port.link_up = a.link_up;
	pp->ifindex = a.ifindex;
	return &pp->port;
}
