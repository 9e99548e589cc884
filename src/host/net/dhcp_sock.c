/*
 * The DHCP client's sockets (see dhcp.h), made inside the adapter's
 * stack namespace and tied to the adapter's device.
 *
 * One packet socket (AF_PACKET, SOCK_DGRAM, ETH_P_IP) bound to the
 * adapter's ifindex carries every message, both ways, in every state.
 * Why not a UDP socket: until the lease is applied the adapter has no
 * address, and the kernel's IP input would drop an OFFER or ACK sent
 * unicast to the offered address (not yet ours), and may drop broadcast
 * ones too where the namespace inherited rp_filter from the machine (a
 * source with no route back through an adapter without an address).
 * A packet socket sees the frames before IP does, unicast or broadcast,
 * so the client can clear the broadcast flag as RFC 2131 asks of
 * clients that can take unicast replies.  A packet socket also sees a
 * local sender's frames before their checksum is filled in (checksum
 * offload: the server on a veth, through the switch into the TAP with
 * a partial checksum); PACKET_AUXDATA tells those
 * (TP_STATUS_CSUMNOTREADY), and their UDP checksum is not checked.  The kernel builds the
 * Ethernet header from the destination MAC given on each send; the
 * client builds the IPv4 and UDP headers (dhcp_msg.c).  A classic BPF
 * filter on the socket keeps everything but unfragmented UDP to port 68
 * out of vmkd, so another adapter's traffic costs no wakeup.
 *
 * Unicast messages (renewal, release) go to the MAC the server's last
 * reply came from: the server's, or the relay's that forwarded it,
 * which routes them on; this needs no ARP and works the same with or
 * without the address applied.  Should the server move to another MAC,
 * renewals go unanswered and the client rebinds by broadcast at T2.
 *
 * Replies to a renewal come unicast to the leased address, port 68;
 * with nothing bound there the stack would answer each with an ICMP
 * port unreachable.  So a UDP socket claims port 68 on the device
 * (SO_BINDTODEVICE, SO_REUSEADDR so that every adapter of a stack can)
 * and drops what it gets with a filter that accepts nothing: the packet
 * socket has already seen it.  The claim is best effort.
 */
#include "dhcp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dhcp_msg.h"
#include "netns.h"

/* IPv4 (SOCK_DGRAM: offset 0 is the IP header), UDP, not a fragment,
 * destination port 68. */
static const struct sock_filter udp68[] = {
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),                  /* protocol */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),                  /* flags, fragment offset */
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 4, 0),
	BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),                 /* X = header length */
	BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),                  /* UDP destination port */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DHCP_CLIENT_PORT, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static const struct sock_filter nothing[] = {
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static int attach(int fd, const struct sock_filter *f, size_t n)
{
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = (struct sock_filter *)f };
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

static int fail_close(int fd)
{
	int r = -errno;
	close(fd);
	return r;
}

int dhcp_sock_open(int ns_fd, int ifindex)
{
	int fd = netns_socket(ns_fd, AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			      htons(ETH_P_IP));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = ifindex };
	int one = 1;

	if (fd < 0)
		return fd;
	if (attach(fd, udp68, sizeof(udp68) / sizeof(udp68[0])) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return fail_close(fd);
	/* our own frames are not replies (a kernel without it: checked on receive) */
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	return fd;
}

int dhcp_sock_claim(int ns_fd, const char *ifname)
{
	int fd = netns_socket(ns_fd, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(DHCP_CLIENT_PORT) };
	int one = 1;

	if (fd < 0)
		return fd;
	if (attach(fd, nothing, 1) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return fail_close(fd);
	return fd;
}

int dhcp_sock_send(int fd, int ifindex, const uint8_t mac[6], const uint8_t *pkt, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				  .sll_ifindex = ifindex, .sll_halen = 6 };

	memcpy(to.sll_addr, mac, 6);
	ssize_t n = sendto(fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to));
	return n < 0 ? -errno : 0;
}

/* The kernel's word on the frame's checksum (PACKET_AUXDATA). */
static bool csum_not_ready(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata))) {
			struct tpacket_auxdata aux;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			return aux.tp_status & TP_STATUS_CSUMNOTREADY;
		}
	}
	return false;
}

ssize_t dhcp_sock_recv(int fd, uint8_t *buf, size_t cap, uint8_t src_mac[6],
		       bool *csum_pending)
{
	struct sockaddr_ll from;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;

	for (int i = 0; i < 64; i++) {     /* bounded: a flood is read on the next wakeup */
		struct iovec iov = { buf, cap };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(fd, &mh, MSG_TRUNC);
		if (n < 0)
			return -errno;
		*csum_pending = csum_not_ready(&mh);
		if (from.sll_pkttype == PACKET_OUTGOING || (size_t)n > cap)
			continue;       /* ours, or too big to be a reply we take */
		memset(src_mac, 0, 6);
		if (from.sll_halen == 6)
			memcpy(src_mac, from.sll_addr, 6);
		return n;
	}
	return -EAGAIN;
}
