/*
 * VLANs, as the reference's standard vSwitch tags them.
 *
 * Every port has a VLAN mode taken from its port group: 0 (no VLAN: frames
 * pass untagged, the physical switch port does the tagging), 1-4094 (the
 * vSwitch tags: the port's frames belong to that VLAN and the port sees
 * them untagged) or 4095 (trunk: the guest tags; frames keep their tags).
 * Uplinks are trunks too.
 *
 * Inside the switch a frame is untagged and carries its VLAN beside the
 * bytes, as Linux keeps a VLAN tag out of band in an skb: an inline tag is
 * taken out on the way in by moving the two MAC addresses 4 bytes forward
 * (12 bytes moved, whatever the frame's size), and a tag is put back on
 * the way out to an uplink or trunk by a separate I/O vector entry, so a
 * frame flooded to ports that want it tagged and untagged is never copied.
 *
 * Tagged frames from an access port are dropped (a guest may not pick its
 * VLAN); a priority tag (VID 0) counts as untagged.  VLAN 4095 in a tag is
 * reserved and dropped.
 */
#include <string.h>

#include "internal.h"

#define ETH_P_8021Q 0x8100
#define VLAN_HLEN 4
#define VID_MASK 0x0fff

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Moves the header offsets of the virtio-net header by delta bytes. */
static void vnet_shift(struct virtio_net_hdr *h, int delta)
{
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		h->csum_start = (uint16_t)(h->csum_start + delta);
	if (h->hdr_len)
		h->hdr_len = (uint16_t)(h->hdr_len + delta);
}

/* Takes an inline 802.1Q tag out of the frame; false if it has none. */
static bool pop_inline_tag(struct dp_frame *f)
{
	if (f->len < DP_ETH_HLEN + VLAN_HLEN ||
	    get_be16(f->data + 12) != ETH_P_8021Q)
		return false;
	if ((f->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    f->vnet.csum_start < DP_ETH_HLEN + VLAN_HLEN)
		return false;	/* nonsense offsets: let the port judge */
	f->tci = get_be16(f->data + 14);
	memmove(f->data + VLAN_HLEN, f->data, 12);
	f->data += VLAN_HLEN;
	f->len -= VLAN_HLEN;
	vnet_shift(&f->vnet, -VLAN_HLEN);
	return true;
}

int dp_vlan_classify(const struct dp_port *src, struct dp_frame *f)
{
	bool tagged = f->tag_meta || pop_inline_tag(f);
	uint16_t vid = tagged ? f->tci & VID_MASK : 0;

	if (!tagged)
		f->tci = 0;
	if (vid == DP_VLAN_TRUNK)
		return -1;
	if (src->vlan == DP_VLAN_TRUNK) {
		f->vlan = vid;
		return 0;
	}
	if (vid != 0)
		return -1;
	f->vlan = src->vlan;
	f->tci = (uint16_t)((f->tci & ~VID_MASK) | src->vlan);
	return 0;
}

bool dp_vlan_member(const struct dp_port *p, uint16_t vlan)
{
	return p->vlan == DP_VLAN_TRUNK || p->vlan == vlan;
}

uint16_t dp_vlan_out_tag(const struct dp_port *p, const struct dp_frame *f)
{
	if (p->vlan != DP_VLAN_TRUNK || f->vlan == 0)
		return 0;
	return (uint16_t)((f->tci & ~VID_MASK) | f->vlan);
}

unsigned dp_frame_iov(const struct dp_frame *f, uint16_t tag,
		      struct virtio_net_hdr *hdr, uint8_t tagbuf[4],
		      struct iovec iov[4])
{
	*hdr = f->vnet;
	iov[0] = (struct iovec){ hdr, sizeof(*hdr) };
	if (!tag || f->len < 12) {
		iov[1] = (struct iovec){ f->data, f->len };
		return 2;
	}
	vnet_shift(hdr, VLAN_HLEN);
	tagbuf[0] = ETH_P_8021Q >> 8;
	tagbuf[1] = ETH_P_8021Q & 0xff;
	tagbuf[2] = (uint8_t)(tag >> 8);
	tagbuf[3] = (uint8_t)tag;
	iov[1] = (struct iovec){ f->data, 12 };
	iov[2] = (struct iovec){ tagbuf, VLAN_HLEN };
	iov[3] = (struct iovec){ f->data + 12, f->len - 12 };
	return 4;
}
