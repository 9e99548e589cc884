/*
 * VMkernel adapter ports: a Linux TAP device per vmknic.
 *
 * The TAP is opened with IFF_VNET_HDR and a 12-byte virtio_net_hdr_v1
 * (DP_TAP_VNET_HDR_LEN, datapath.h says why) in front of every frame:
 * struct virtio_net_hdr, which the switch keeps in dp_frame, then
 * num_buffers, read into scratch and written as 0.  TUNSETOFFLOAD tells the kernel the switch
 * takes partial checksums and TSO (v4, v6, ECN) frames.  The adapter's
 * TCP/IP stack then hands over 64 KiB TCP segments with the checksum left
 * to do, the switch forwards them as one frame with the header intact,
 * and the kernel behind the destination TAP accepts them as they are: a
 * TCP stream between two vmknics crosses the switch in a few large frames
 * rather than many 1500-byte ones, and nobody computes a checksum.
 *
 * A read returns one frame, so recv reads until the batch is full or the
 * TAP is empty.  Each is one plain read into the runner's buffer, header
 * first: the frame starts 12 bytes in, and only the 10-byte header is
 * copied out.  (readv into the vnet field and the buffer saved those 10
 * bytes but cost an iovec copy-in per frame: 64-byte frames went 0.73 to
 * 0.80 of the Linux bridge without it.)  send is one writev of the
 * header, the frame and, if needed, the VLAN tag.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "datapath.h"

#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

static int tap_recv(struct dp_port *p, struct dp_frame *f, unsigned n)
{
	unsigned got = 0;

	while (got < n) {
		struct dp_frame *fr = &f[got];
		/* one contiguous read (no iovec to copy in): the header lands in
		 * front of the frame and is copied out, 10 bytes */
		ssize_t r = read(p->fd, fr->buf, fr->cap);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || got)
				break;
			return -errno;
		}
		if ((size_t)r < DP_TAP_VNET_HDR_LEN)
			continue;
		memcpy(&fr->vnet, fr->buf, sizeof(fr->vnet));
		fr->data = fr->buf + DP_TAP_VNET_HDR_LEN;
		fr->len = (uint32_t)(r - DP_TAP_VNET_HDR_LEN);
		if ((size_t)r >= fr->cap)
			fr->len = 0;	/* truncated: the switch drops it */
		got++;
	}
	return (int)got;
}

static int tap_send(struct dp_port *p, const struct dp_frame *f, uint16_t tag)
{
	struct virtio_net_hdr hdr;
	uint8_t tagbuf[4];
	static const uint16_t num_buffers;	/* 0: a TAP does not merge */
	struct iovec iov[5];
	unsigned n = dp_frame_iov(f, tag, &hdr, tagbuf, iov + 1);

	iov[0] = iov[1];		/* the 10-byte header, then num_buffers */
	iov[1] = (struct iovec){ (void *)&num_buffers, sizeof(num_buffers) };
	if (writev(p->fd, iov, (int)n + 1) < 0)
		return -errno;
	return 0;
}

static void tap_destroy(struct dp_port *p)
{
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

static const struct dp_port_ops tap_ops = {
	.recv = tap_recv,
	.send = tap_send,
	.destroy = tap_destroy,
};

_Static_assert(sizeof(struct virtio_net_hdr) + sizeof(uint16_t) ==
	       DP_TAP_VNET_HDR_LEN, "virtio_net_hdr_v1 is 12 bytes");

struct dp_port *dp_tap_port_new(const char *name, int fd)
{
	int hdr = 0;

	/* The size is the device's, set by whoever made it: check it rather
	 * than change it under them. */
	if (ioctl(fd, TUNGETVNETHDRSZ, &hdr) < 0 || hdr != DP_TAP_VNET_HDR_LEN) {
		errno = EPROTO;
		return NULL;
	}
	struct dp_port *p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	dp_port_init(p, &tap_ops, DP_PORT_VMKNIC, name);
	p->fd = fd;
	return p;
}

struct tap_open_args {
	const char *name;
	char *err;
	size_t errlen;
};

static int tap_fail(int fd, const struct tap_open_args *a, const char *what)
{
	snprintf(a->err, a->errlen, "TAP %s: %s: %s", a->name, what,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int tap_open_here(void *arg)
{
	const struct tap_open_args *a = arg;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = DP_TAP_VNET_HDR_LEN;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return tap_fail(fd, a, "cannot open /dev/net/tun");
	memcpy(ifr.ifr_name, a->name, strlen(a->name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return tap_fail(fd, a, "cannot create or attach");
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return tap_fail(fd, a, "cannot set the vnet header size");
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TAP_OFFLOADS) < 0)
		return tap_fail(fd, a, "cannot set offloads");
	return fd;
}

int dp_tap_open(const char *name, const char *netns, char *err, size_t errlen)
{
	struct tap_open_args a = { name, err, errlen };

	if (!name || !*name || strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "TAP name '%s' is empty or longer than %d",
			 name ? name : "", IFNAMSIZ - 1);
		return -1;
	}
	err[0] = 0;
	int fd = dp_in_netns(netns, tap_open_here, &a);
	if (fd < 0 && !err[0])		/* the opener did not run */
		snprintf(err, errlen, "TAP %s: cannot enter network namespace %s: %s",
			 name, netns, strerror(-fd));
	return fd < 0 ? -1 : fd;
}

int dp_tap_get_mac(int fd, uint8_t mac[6])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int dp_tap_set_mac(int fd, const uint8_t mac[6])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	return ioctl(fd, SIOCSIFHWADDR, &ifr) < 0 ? -errno : 0;
}
