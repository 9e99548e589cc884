/*
 * DHCP message and packet codec (see dhcp_msg.h).
 *
 * Parsing walks the options with a cursor that never reads a byte it has
 * not checked to be inside the area: each option is (code, length,
 * value), Pad (0) and End (255) excepted, and an option whose length
 * runs past its area ends the parse as malformed.  Option overload (52)
 * adds the file field, then the sname field, as further option areas
 * (RFC 2131 4.1); an overload option inside those areas is ignored, so
 * the areas are read at most once each.  A value of the wrong size for
 * its option is ignored, and so is a repetition of an option already
 * read: a message can only fill each field once, with a value of the
 * expected shape.  RFC 3396's splitting of long options is not needed
 * for the options read here (all fit in one).
 */
#include "dhcp_msg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define MAGIC 0x63825363u

enum {
	OPT_PAD = 0,
	OPT_NETMASK = 1,
	OPT_ROUTER = 3,
	OPT_DNS = 6,
	OPT_HOSTNAME = 12,
	OPT_REQUESTED = 50,
	OPT_LEASE = 51,
	OPT_OVERLOAD = 52,
	OPT_TYPE = 53,
	OPT_SERVER_ID = 54,
	OPT_PARAMS = 55,
	OPT_MESSAGE = 56,
	OPT_MAX_SIZE = 57,
	OPT_T1 = 58,
	OPT_T2 = 59,
	OPT_CLIENT_ID = 61,
	OPT_END = 255,
};

/* Offsets in the BOOTP fixed part. */
enum {
	OFF_OP = 0, OFF_HTYPE = 1, OFF_HLEN = 2, OFF_XID = 4, OFF_SECS = 8, OFF_FLAGS = 10,
	OFF_CIADDR = 12, OFF_YIADDR = 16, OFF_SIADDR = 20, OFF_GIADDR = 24, OFF_CHADDR = 28,
	OFF_SNAME = 44, OFF_FILE = 108, OFF_COOKIE = 236, OFF_OPTIONS = 240,
};
#define SNAME_LEN 64
#define FILE_LEN 128

/* ---- big-endian helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static struct in_addr get_addr(const uint8_t *p)
{
	struct in_addr a;
	memcpy(&a.s_addr, p, 4);
	return a;
}

/* ---- building ---- */

struct out {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static void put_opt(struct out *o, uint8_t code, const void *val, size_t n)
{
	if (o->overflow || n > 255 || o->len + 2 + n > o->cap) {
		o->overflow = true;
		return;
	}
	o->buf[o->len++] = code;
	o->buf[o->len++] = (uint8_t)n;
	memcpy(o->buf + o->len, val, n);
	o->len += n;
}

static void put_opt_addr(struct out *o, uint8_t code, struct in_addr a)
{
	put_opt(o, code, &a.s_addr, 4);
}

static void put_fixed(const struct dhcp_msg *m, uint8_t *b)
{
	memset(b, 0, OFF_OPTIONS);
	b[OFF_OP] = m->op;
	b[OFF_HTYPE] = 1;       /* Ethernet */
	b[OFF_HLEN] = 6;
	put32(b + OFF_XID, m->xid);
	put16(b + OFF_SECS, m->secs);
	put16(b + OFF_FLAGS, m->broadcast ? 0x8000 : 0);
	memcpy(b + OFF_CIADDR, &m->ciaddr.s_addr, 4);
	memcpy(b + OFF_YIADDR, &m->yiaddr.s_addr, 4);
	memcpy(b + OFF_SIADDR, &m->siaddr.s_addr, 4);
	memcpy(b + OFF_GIADDR, &m->giaddr.s_addr, 4);
	memcpy(b + OFF_CHADDR, m->chaddr, 6);
	put32(b + OFF_COOKIE, MAGIC);
}

/* What the client asks for: netmask, router, DNS, lease, T1, T2. */
static void put_request_opts(struct out *o)
{
	static const uint8_t params[] = { OPT_NETMASK, OPT_ROUTER, OPT_DNS, OPT_LEASE,
					  OPT_T1, OPT_T2 };
	uint8_t max[2];

	put16(max, DHCP_MAX_LEN);
	put_opt(o, OPT_MAX_SIZE, max, 2);
	put_opt(o, OPT_PARAMS, params, sizeof(params));
}

size_t dhcp_build(const struct dhcp_msg *m, uint8_t *buf, size_t cap)
{
	struct out o = { .buf = buf, .cap = cap, .len = OFF_OPTIONS };
	uint8_t lease[4];

	if (cap < DHCP_MIN_LEN)
		return 0;
	put_fixed(m, buf);
	if (m->type)
		put_opt(&o, OPT_TYPE, &m->type, 1);
	if (m->client_id_len)
		put_opt(&o, OPT_CLIENT_ID, m->client_id, m->client_id_len);
	if (m->has_requested)
		put_opt_addr(&o, OPT_REQUESTED, m->requested);
	if (m->has_server_id)
		put_opt_addr(&o, OPT_SERVER_ID, m->server_id);
	if (m->has_lease) {
		put32(lease, m->lease);
		put_opt(&o, OPT_LEASE, lease, 4);
	}
	if (m->op == 1 && m->type != DHCPRELEASE && m->type != DHCPDECLINE)
		put_request_opts(&o);
	if (o.overflow || o.len >= cap)
		return 0;
	buf[o.len++] = OPT_END;
	if (o.len < DHCP_MIN_LEN) {
		memset(buf + o.len, OPT_PAD, DHCP_MIN_LEN - o.len);
		o.len = DHCP_MIN_LEN;
	}
	return o.len;
}

/* ---- parsing ---- */

struct seen {
	bool type, lease, t1, t2, text, overload;
	uint8_t overload_val;
};

static void opt_text(struct dhcp_msg *m, const uint8_t *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < sizeof(m->text); i++)
		if (v[i] >= 0x20 && v[i] < 0x7f)
			m->text[k++] = (char)v[i];
	m->text[k] = '\0';
}

static void opt_addrs(struct dhcp_msg *m, const uint8_t *v, size_t n)
{
	for (size_t i = 0; i + 4 <= n && m->ndns < DHCP_DNS_MAX; i += 4)
		m->dns[m->ndns++] = get_addr(v + i);
}

/* Sets *flag and returns true the first time a well-sized value comes. */
static bool first(bool *flag, size_t n, size_t want)
{
	if (*flag || n != want)
		return false;
	*flag = true;
	return true;
}

static void opt_addr(bool *has, struct in_addr *dst, const uint8_t *v, size_t n)
{
	if (first(has, n, 4))
		*dst = get_addr(v);
}

static void opt_u32(bool *has, uint32_t *dst, const uint8_t *v, size_t n)
{
	if (first(has, n, 4))
		*dst = get32(v);
}

static void one_option(struct dhcp_msg *m, struct seen *s, uint8_t code, const uint8_t *v,
		       size_t n)
{
	switch (code) {
	case OPT_TYPE:
		if (first(&s->type, n, 1))
			m->type = v[0];
		break;
	case OPT_NETMASK: opt_addr(&m->has_netmask, &m->netmask, v, n); break;
	case OPT_SERVER_ID: opt_addr(&m->has_server_id, &m->server_id, v, n); break;
	case OPT_REQUESTED: opt_addr(&m->has_requested, &m->requested, v, n); break;
	case OPT_LEASE: opt_u32(&m->has_lease, &m->lease, v, n); break;
	case OPT_T1: opt_u32(&m->has_t1, &m->t1, v, n); break;
	case OPT_T2: opt_u32(&m->has_t2, &m->t2, v, n); break;
	case OPT_ROUTER:
		if (!m->has_router && n >= 4 && n % 4 == 0) {
			m->has_router = true;
			m->router = get_addr(v);
		}
		break;
	case OPT_DNS:
		if (!m->ndns && n >= 4 && n % 4 == 0)
			opt_addrs(m, v, n);
		break;
	case OPT_MESSAGE:
		if (!s->text) {
			s->text = true;
			opt_text(m, v, n);
		}
		break;
	case OPT_OVERLOAD:
		if (first(&s->overload, n, 1))
			s->overload_val = v[0];
		break;
	default:
		break;
	}
}

/* Reads the options of one area; -1 if one runs past its end. */
static int walk(struct dhcp_msg *m, struct seen *s, const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = p[i++];
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END)
			return 0;
		if (i >= len)
			return -1;
		size_t n = p[i++];
		if (n > len - i)
			return -1;
		one_option(m, s, code, p + i, n);
		i += n;
	}
	return 0;   /* RFC 2131 wants an End; tolerate its absence at the very end */
}

static void parse_fixed(const uint8_t *b, struct dhcp_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->op = b[OFF_OP];
	m->xid = get32(b + OFF_XID);
	m->secs = get16(b + OFF_SECS);
	m->broadcast = get16(b + OFF_FLAGS) & 0x8000;
	m->ciaddr = get_addr(b + OFF_CIADDR);
	m->yiaddr = get_addr(b + OFF_YIADDR);
	m->siaddr = get_addr(b + OFF_SIADDR);
	m->giaddr = get_addr(b + OFF_GIADDR);
	memcpy(m->chaddr, b + OFF_CHADDR, 6);
}

int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m)
{
	struct seen s = { 0 };

	if (!buf || len < OFF_OPTIONS || buf[OFF_HTYPE] != 1 || buf[OFF_HLEN] != 6 ||
	    get32(buf + OFF_COOKIE) != MAGIC)
		return -1;
	parse_fixed(buf, m);
	if (walk(m, &s, buf + OFF_OPTIONS, len - OFF_OPTIONS) < 0)
		return -1;
	/* overload, read once from the main area: 1 file, 2 sname, 3 both */
	uint8_t ov = s.overload ? s.overload_val : 0;
	s.overload = true;
	if ((ov & 1) && walk(m, &s, buf + OFF_FILE, FILE_LEN) < 0)
		return -1;
	if ((ov & 2) && walk(m, &s, buf + OFF_SNAME, SNAME_LEN) < 0)
		return -1;
	return 0;
}

const char *dhcp_type_name(uint8_t type, char *buf, size_t len)
{
	static const char *const names[] = { NULL, "DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST",
					     "DHCPDECLINE", "DHCPACK", "DHCPNAK", "DHCPRELEASE",
					     "DHCPINFORM" };

	if (type >= 1 && type <= 8)
		snprintf(buf, len, "%s", names[type]);
	else
		snprintf(buf, len, "DHCP(%u)", type);
	return buf;
}

/* ---- IPv4 and UDP ---- */

/* The Internet checksum's running sum (RFC 1071), folded by csum_fold. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP checksum's pseudo header: addresses, protocol, UDP length. */
static uint32_t pseudo_sum(const uint8_t *src, const uint8_t *dst, uint16_t udp_len)
{
	uint8_t ph[12];

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	put16(ph + 10, udp_len);
	return csum_add(0, ph, sizeof(ph));
}

size_t dhcp_packet_build(uint8_t *buf, size_t cap, struct in_addr src, struct in_addr dst,
			 const uint8_t *payload, size_t len)
{
	size_t total = DHCP_IPUDP_LEN + len;

	if (total > cap || total > 0xffff)
		return 0;
	uint8_t *ip = buf, *udp = buf + 20;
	memset(buf, 0, DHCP_IPUDP_LEN);
	ip[0] = 0x45;                       /* version 4, 5 words */
	ip[1] = 0x10;                       /* TOS: low delay, as BSD clients send */
	put16(ip + 2, (uint16_t)total);
	ip[8] = 64;                         /* TTL */
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src.s_addr, 4);
	memcpy(ip + 16, &dst.s_addr, 4);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(udp, DHCP_CLIENT_PORT);
	put16(udp + 2, DHCP_SERVER_PORT);
	put16(udp + 4, (uint16_t)(8 + len));
	memcpy(udp + 8, payload, len);
	uint16_t c = csum_fold(csum_add(pseudo_sum(ip + 12, ip + 16, (uint16_t)(8 + len)), udp,
					8 + len));
	put16(udp + 6, c ? c : 0xffff);     /* 0 means "no checksum" in UDP */
	return total;
}

int dhcp_packet_parse(const uint8_t *buf, size_t len, bool udp_csum_pending,
		      const uint8_t **payload, size_t *plen)
{
	if (!buf || len < 20 || (buf[0] >> 4) != 4)
		return -1;
	size_t ihl = (size_t)(buf[0] & 0xf) * 4, total = get16(buf + 2);
	if (ihl < 20 || total < ihl + 8 || total > len || buf[9] != IPPROTO_UDP)
		return -1;
	if ((get16(buf + 6) & 0x3fff) != 0)     /* MF set or an offset: a fragment */
		return -1;
	if (csum_fold(csum_add(0, buf, ihl)) != 0)
		return -1;
	const uint8_t *udp = buf + ihl;
	size_t ulen = get16(udp + 4);
	if (get16(udp + 2) != DHCP_CLIENT_PORT || ulen < 8 || ulen > total - ihl)
		return -1;
	if (!udp_csum_pending && get16(udp + 6) != 0 &&
	    csum_fold(csum_add(pseudo_sum(buf + 12, buf + 16, (uint16_t)ulen), udp, ulen)) != 0)
		return -1;
	*payload = udp + 8;
	*plen = ulen - 8;
	return 0;
}
