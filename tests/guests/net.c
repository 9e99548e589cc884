/*
 * net: virtio-net over virtio-mmio (version 2, VIRTIO_F_VERSION_1, so a
 * 12-byte virtio_net_hdr_v1 precedes every frame in both directions).
 *
 * Addresses: ip=A.B.C.D and peer=A.B.C.D on the command line (defaults
 * 10.0.2.15 and 10.0.2.2); the MAC comes from config space when the device
 * offers VIRTIO_NET_F_MAC, else 02:00:00:00:00:01.  Queue 0 receives (16
 * posted 2 KiB buffers, re-posted as they are consumed), queue 1 sends
 * (one frame at a time, waiting for its completion).
 *
 * The guest sends an ARP request for the peer (up to 5 tries, 1 s each)
 * and prints "arp ok peer-mac=..."; then ICMP echo requests (id 0x766b,
 * 56-byte payload) until net.count= replies (default 3) arrived with the
 * right id, sequence number and payload, at most count + 3 requests,
 * waiting up to 1 s for each; then "ping ok".  While waiting it answers
 * ARP requests for its own address, as the peer's neighbour code asks.
 *
 * net.mode=respond net.seconds=N (1..600, default 60) makes it the other
 * end instead: for N seconds it answers ARP requests for ip= and ICMP
 * echo requests to ip=, then prints "respond ok ..." and passes.  The
 * device may lose its back end meanwhile (vhost-user): a reply whose
 * transmit does not complete stays queued and later replies are dropped
 * until it does, never a failure.
 *
 * Exit codes: 1 no virtio-net device, 2 device or queue set-up failed,
 * 3 a transmit did not complete, 4 no ARP reply, 5 missing echo replies,
 * 6 bad ip= or peer= value, 7 bad net.mode= or net.seconds=.
 */
#include "lib/guest.h"

const char guest_name[] = "net";

#define VIRTIO_ID_NET 1
#define F_MAC (1ull << 5)
#define NET_HDR 12
#define NRX 16
#define BUF 2048
#define ICMP_ID 0x766b
#define PAYLOAD 56

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct virtio_dev *dev;
static struct virtq rxq NOINIT, txq NOINIT;
static uint8_t rxbuf[NRX][BUF] NOINIT __attribute__((aligned(4096)));
static uint8_t txbuf[BUF] NOINIT __attribute__((aligned(64)));

static uint8_t mac[6], peer_mac[6], ip[4], peer[4];
static bool have_peer_mac;
static uint16_t want_seq;
static bool got_reply;
static bool responder;          /* net.mode=respond */
static bool tx_pending;         /* responder: a frame the device has not completed */
static unsigned answered, tx_dropped;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += be16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Responder: has the device completed the frame in flight? */
static bool tx_reaped(void)
{
	uint32_t id, ulen;

	if (tx_pending && virtq_take_used(&txq, &id, &ulen))
		tx_pending = false;
	return !tx_pending;
}

static void send_frame(const uint8_t *frame, size_t len)
{
	if (len < 60)
		len = 60;               /* minimum Ethernet frame; caller zeroed the rest */
	if (responder && !tx_reaped()) {
		tx_dropped++;           /* txbuf is still the device's */
		return;
	}
	memset(txbuf, 0, NET_HDR);
	memcpy(txbuf + NET_HDR, frame, len);
	txq.desc[0] = (struct virtq_desc){ (uintptr_t)txbuf, (uint32_t)(NET_HDR + len), 0, 0 };
	virtq_publish(dev, &txq, 0, true);
	tx_pending = true;
	uint64_t dl = deadline_ms(1000);
	while (!tx_reaped()) {
		if (expired(dl)) {
			if (responder)
				return;         /* completes when a back end is there */
			fail(3, "transmit of a %u-byte frame not completed in 1 s", (unsigned)len);
		}
		cpu_relax();
	}
}

static void send_arp(uint16_t oper, const uint8_t *dst_mac, const uint8_t *tha, const uint8_t *tpa)
{
	uint8_t f[60] = { 0 };
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0806);
	uint8_t *a = f + 14;
	put16(a, 1);                    /* Ethernet */
	put16(a + 2, 0x0800);           /* IPv4 */
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, oper);
	memcpy(a + 8, mac, 6);
	memcpy(a + 14, ip, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	send_frame(f, 42);
}

static void send_echo(uint16_t seq)
{
	uint8_t f[14 + 20 + 8 + PAYLOAD] = { 0 };
	memcpy(f, peer_mac, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0800);
	uint8_t *h = f + 14;
	h[0] = 0x45;
	put16(h + 2, 20 + 8 + PAYLOAD);
	put16(h + 4, seq);              /* identification */
	put16(h + 6, 0x4000);           /* don't fragment */
	h[8] = 64;
	h[9] = 1;                       /* ICMP */
	memcpy(h + 12, ip, 4);
	memcpy(h + 16, peer, 4);
	put16(h + 10, csum(h, 20));
	uint8_t *c = h + 20;
	c[0] = 8;                       /* echo request */
	put16(c + 4, ICMP_ID);
	put16(c + 6, seq);
	for (unsigned i = 0; i < PAYLOAD; i++)
		c[8 + i] = (uint8_t)(seq + i);
	put16(c + 2, csum(c, 8 + PAYLOAD));
	send_frame(f, sizeof(f));
}

/* Responder: an ICMP echo request to our address comes back as a reply. */
static void answer_echo(const uint8_t *f, unsigned ihl, unsigned tot)
{
	static uint8_t r[BUF - NET_HDR];
	const uint8_t *h = f + 14;

	if (14 + tot > sizeof(r))
		return;
	memset(r, 0, 60);
	memcpy(r, f + 6, 6);
	memcpy(r + 6, mac, 6);
	memcpy(r + 12, f + 12, 2 + tot);
	uint8_t *rh = r + 14, *c = rh + ihl;
	memcpy(rh + 12, ip, 4);
	memcpy(rh + 16, h + 12, 4);
	rh[10] = rh[11] = 0;
	put16(rh + 10, csum(rh, ihl));
	c[0] = 0;                       /* echo reply */
	c[2] = c[3] = 0;
	put16(c + 2, csum(c, tot - ihl));
	send_frame(r, 14 + tot);
	answered++;
}

static void handle_frame(const uint8_t *f, size_t len)
{
	static const uint8_t zero_mac[6];
	if (len < 14)
		return;
	uint16_t type = be16(f + 12);
	if (type == 0x0806 && len >= 42) {
		const uint8_t *a = f + 14;
		if (be16(a) != 1 || be16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
			return;
		uint16_t oper = be16(a + 6);
		if (oper == 1 && memcmp(a + 24, ip, 4) == 0) {
			send_arp(2, a + 8, a + 8, a + 14);
		} else if (oper == 2 && memcmp(a + 14, peer, 4) == 0 && memcmp(a + 24, ip, 4) == 0 &&
			   memcmp(a + 8, zero_mac, 6) != 0 && !have_peer_mac) {
			memcpy(peer_mac, a + 8, 6);
			have_peer_mac = true;
		}
	} else if (type == 0x0800 && len >= 14 + 20 + 8) {
		const uint8_t *h = f + 14;
		unsigned ihl = (h[0] & 0x0f) * 4u;
		unsigned tot = be16(h + 2);
		if ((h[0] >> 4) != 4 || ihl < 20 || tot > len - 14 || tot < ihl + 8 || h[9] != 1)
			return;
		if (responder) {
			const uint8_t *c = h + ihl;
			if (memcmp(h + 16, ip, 4) == 0 && c[0] == 8 && c[1] == 0 &&
			    csum(h, ihl) == 0 && csum(c, tot - ihl) == 0)
				answer_echo(f, ihl, tot);
			return;
		}
		if (memcmp(h + 12, peer, 4) != 0 || memcmp(h + 16, ip, 4) != 0)
			return;
		const uint8_t *c = h + ihl;
		unsigned clen = tot - ihl;
		if (c[0] != 0 || c[1] != 0 || csum(c, clen) != 0)
			return;
		if (be16(c + 4) != ICMP_ID || be16(c + 6) != want_seq || clen != 8 + PAYLOAD)
			return;
		for (unsigned i = 0; i < PAYLOAD; i++)
			if (c[8 + i] != (uint8_t)(want_seq + i))
				return;
		got_reply = true;
	}
}

static void poll_rx(void)
{
	uint32_t id, len;
	bool reposted = false;
	while (virtq_take_used(&rxq, &id, &len)) {
		if (id >= NRX)
			fail(2, "rx used ring returned descriptor %u", id);
		if (len > NET_HDR && len <= BUF)
			handle_frame(rxbuf[id] + NET_HDR, len - NET_HDR);
		virtq_publish(dev, &rxq, (uint16_t)id, false);
		reposted = true;
	}
	if (reposted)
		virtq_notify(dev, &rxq);
}

static void ip_param(const char *key, uint8_t out[4], const uint8_t def[4])
{
	const char *v;
	size_t len;
	memcpy(out, def, 4);
	if (cmdline_find(key, 0, &v, &len) && !parse_ipv4(v, len, out))
		fail(6, "bad %s=%.*s", key, (int)len, v);
}

/* net.mode=respond: answer ARP and pings for `seconds` seconds, then pass. */
static int respond(unsigned seconds)
{
	printf("respond: answering ARP and ICMP echo for %u.%u.%u.%u for %u s\n",
	       ip[0], ip[1], ip[2], ip[3], seconds);
	for (unsigned s = 0; s < seconds; s++) {
		uint64_t dl = deadline_ms(1000);
		while (!expired(dl)) {
			poll_rx();
			cpu_relax();
		}
	}
	printf("respond ok answered=%u dropped=%u\n", answered, tx_dropped);
	return 0;
}

/* net.mode= and net.seconds=; fails with 7 on a bad value. */
static unsigned respond_params(void)
{
	const char *v;
	size_t len;

	if (!cmdline_find("net.mode", 0, &v, &len))
		return 0;
	if (len == 4 && memcmp(v, "ping", 4) == 0)
		return 0;
	if (len != 7 || memcmp(v, "respond", 7) != 0)
		fail(7, "bad net.mode=%.*s (ping or respond)", (int)len, v);
	uint64_t n = 60;
	if (cmdline_find("net.seconds", 0, &v, &len) &&
	    (parse_size(v, len, &n) != len || n == 0 || n > 600))
		fail(7, "bad net.seconds=%.*s (1 to 600)", (int)len, v);
	responder = true;
	return (unsigned)n;
}

int guest_main(const struct hvm_start_info *si)
{
	(void)si;
	static const uint8_t def_ip[4] = { 10, 0, 2, 15 }, def_peer[4] = { 10, 0, 2, 2 };
	static const uint8_t def_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	ip_param("ip", ip, def_ip);
	ip_param("peer", peer, def_peer);
	unsigned count = (unsigned)cmdline_u64("net.count", 3);
	if (count == 0 || count > 1000)
		count = 3;
	unsigned seconds = respond_params();

	bool from_cmdline;
	unsigned n = virtio_find(devs, VIRTIO_MAX_DEVS, &from_cmdline);
	for (unsigned i = 0; i < n && !dev; i++)
		if (devs[i].device_id == VIRTIO_ID_NET)
			dev = &devs[i];
	if (!dev)
		fail(1, "no virtio-net device among %u virtio-mmio device(s) (%s)", n,
		     from_cmdline ? "command line" : "probed");
	int r = virtio_init(dev, VIRTIO_F_VERSION_1 | F_MAC);
	if (r == -1)
		fail(2, "virtio-mmio at %#lx is version %u, need 2 (modern)", (unsigned long)dev->base,
		     virtio_version(dev));
	if (r < 0)
		fail(2, "virtio-net at %#lx: init failed at step %d (features %#lx)",
		     (unsigned long)dev->base, -r, (unsigned long)dev->features);
	if ((r = virtq_setup(dev, &rxq, 0, NRX)) < 0 || rxq.num < 2)
		fail(2, "virtio-net: rx queue set-up failed (%d)", r);
	if ((r = virtq_setup(dev, &txq, 1, 4)) < 0)
		fail(2, "virtio-net: tx queue set-up failed (%d)", r);
	if (dev->negotiated & F_MAC)
		for (unsigned i = 0; i < 6; i++)
			mac[i] = virtio_cfg8(dev, i);
	else
		memcpy(mac, def_mac, 6);
	for (unsigned i = 0; i < rxq.num; i++) {
		rxq.desc[i] = (struct virtq_desc){ (uintptr_t)rxbuf[i], BUF, VIRTQ_DESC_F_WRITE, 0 };
		virtq_publish(dev, &rxq, (uint16_t)i, false);
	}
	virtio_driver_ok(dev);
	virtq_notify(dev, &rxq);
	printf("virtio-net at %#lx irq %u: mac=%02x:%02x:%02x:%02x:%02x:%02x%s ip=%u.%u.%u.%u peer=%u.%u.%u.%u\n",
	       (unsigned long)dev->base, dev->irq, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
	       (dev->negotiated & F_MAC) ? "" : " (fixed)", ip[0], ip[1], ip[2], ip[3],
	       peer[0], peer[1], peer[2], peer[3]);
	time_init();
	if (responder)
		return respond(seconds);

	static const uint8_t zero_mac[6];
	for (unsigned t = 0; t < 5 && !have_peer_mac; t++) {
		send_arp(1, bcast, zero_mac, peer);
		uint64_t dl = deadline_ms(1000);
		while (!have_peer_mac && !expired(dl)) {
			poll_rx();
			cpu_relax();
		}
	}
	if (!have_peer_mac)
		fail(4, "no ARP reply from %u.%u.%u.%u", peer[0], peer[1], peer[2], peer[3]);
	printf("arp ok peer-mac=%02x:%02x:%02x:%02x:%02x:%02x\n", peer_mac[0], peer_mac[1],
	       peer_mac[2], peer_mac[3], peer_mac[4], peer_mac[5]);

	unsigned replies = 0, sent = 0;
	uint16_t seq = 0;
	while (replies < count && sent < count + 3) {
		want_seq = ++seq;
		got_reply = false;
		uint64_t t0 = rdtsc(), dl = deadline_ms(1000);
		send_echo(seq);
		sent++;
		while (!got_reply && !expired(dl)) {
			poll_rx();
			cpu_relax();
		}
		if (got_reply) {
			replies++;
			printf("ping: reply seq=%u time=%lu us\n", seq, (unsigned long)tsc_to_us(rdtsc() - t0));
		} else {
			printf("ping: no reply to seq=%u\n", seq);
		}
	}
	if (replies < count)
		fail(5, "%u of %u echo replies after %u requests", replies, count, sent);
	printf("ping ok replies=%u sent=%u\n", replies, sent);
	return 0;
}
