/*
 * TAP back end (Linux TUN/TAP, Documentation/networking/tuntap.rst).
 *
 * The fd is opened with IFF_VNET_HDR and TUNSETVNETHDRSZ 12, the size of
 * virtio_net_hdr_v1: each read returns the kernel's 10-byte virtio_net_hdr,
 * two bytes it leaves untouched (num_buffers, which the device fills in)
 * and the Ethernet frame; each write takes the same layout.  That is what
 * lets virtio-net pass guest buffers to readv/writev without copying.
 * TUNSETOFFLOAD tells the kernel which partial checksums and GSO frames we
 * (that is, the guest) accept on receive; it starts at none.
 */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio_defs.h"

static int tap_fail(int fd, char *err, size_t errlen, const char *name,
		    const char *what)
{
	snprintf(err, errlen, "TAP %s: %s: %s", name, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int tap_open(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr = VIRTIO_NET_HDR_LEN;

	if (!name || !*name || strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "TAP name '%s' is empty or longer than %d",
			 name ? name : "", IFNAMSIZ - 1);
		return -1;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return tap_fail(fd, err, errlen, name, "cannot open /dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return tap_fail(fd, err, errlen, name, "cannot attach");
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return tap_fail(fd, err, errlen, name, "cannot set vnet header size");
	if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0)
		return tap_fail(fd, err, errlen, name, "cannot clear offloads");
	return fd;
}

int tap_set_offload(int fd, uint64_t f)
{
	unsigned long off = 0;

	if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) {
		/* segmentation offloads need checksum offload */
		off |= TUN_F_CSUM;
		if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
	}
	return ioctl(fd, TUNSETOFFLOAD, off);
}
