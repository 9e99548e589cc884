/*
 * DHCP messages (RFC 2131, options of RFC 2132) and the IPv4/UDP
 * packets that carry them, as the VMkernel adapters' DHCP client
 * (dhcp_client.c) sends and reads them.  Pure functions on buffers: no
 * sockets, no clock, no globals, so the unit tests and the fuzzer drive
 * them directly.
 *
 * A received packet is network input from anyone on the adapter's
 * segment: dhcp_packet_parse() and dhcp_parse() check every length
 * before they read, accept only what the client needs, and fill a
 * struct dhcp_msg whose fields are then plain values (an option that is
 * malformed, of the wrong length, or repeated after a valid copy is
 * ignored, as if absent).
 */
#ifndef VMKD_NET_DHCP_MSG_H
#define VMKD_NET_DHCP_MSG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

/* Option 53, DHCP message type. */
enum dhcp_type {
	DHCPDISCOVER = 1,
	DHCPOFFER = 2,
	DHCPREQUEST = 3,
	DHCPDECLINE = 4,
	DHCPACK = 5,
	DHCPNAK = 6,
	DHCPRELEASE = 7,
	DHCPINFORM = 8,
};

#define DHCP_DNS_MAX 3
#define DHCP_MSG_TEXT_MAX 64   /* option 56 kept (truncated) for the log */
#define DHCP_CLIENT_ID_MAX 16

/* BOOTP fixed part (236 bytes), then the magic cookie and the options. */
#define DHCP_FIXED_LEN 236
#define DHCP_MIN_LEN 300       /* what we send: RFC 1542's minimum BOOTP size */
#define DHCP_MAX_LEN 576       /* what we send at most, and announce (option 57) */

/* An IPv4 header without options and a UDP header. */
#define DHCP_IPUDP_LEN 28

struct dhcp_msg {
	uint8_t op;                     /* 1 BOOTREQUEST, 2 BOOTREPLY */
	uint32_t xid;
	uint16_t secs;
	bool broadcast;                 /* the flags field's B bit */
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[6];
	uint8_t type;                   /* option 53; 0: absent (plain BOOTP) */

	bool has_server_id, has_requested, has_netmask, has_router;
	bool has_lease, has_t1, has_t2;
	struct in_addr server_id;       /* 54 */
	struct in_addr requested;       /* 50 */
	struct in_addr netmask;         /* 1 */
	struct in_addr router;          /* 3: the first one */
	struct in_addr dns[DHCP_DNS_MAX]; /* 6: the first few */
	uint8_t ndns;
	uint32_t lease, t1, t2;         /* 51, 58, 59: seconds */
	char text[DHCP_MSG_TEXT_MAX];   /* 56: printable characters only */

	/* sent only */
	uint8_t client_id[DHCP_CLIENT_ID_MAX]; /* 61 */
	uint8_t client_id_len;
};

/* Writes m as a DHCP message (fixed part, cookie, options, End, padded
 * to DHCP_MIN_LEN) into buf.  Requests (op 1) also carry option 57 and
 * the parameter request list (55).  The length, or 0 if cap is too small. */
size_t dhcp_build(const struct dhcp_msg *m, uint8_t *buf, size_t cap);

/* Reads a DHCP message: 0 and *m filled, or -1 if it is not one (too
 * short, no magic cookie, not Ethernet, options running past the end).
 * Option overload (52) is honoured: options in the file and sname
 * fields are read as well. */
int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m);

/* An IPv4 header (no options, TTL 64, DF clear) and a UDP header from
 * port 68 to port 67 around payload, checksums filled, into buf.  The
 * length, or 0 if cap is too small. */
size_t dhcp_packet_build(uint8_t *buf, size_t cap, struct in_addr src, struct in_addr dst,
			 const uint8_t *payload, size_t len);

/* Checks an IPv4 packet for being a UDP datagram to port 68 (header
 * sizes and checksums, total length within len, not a fragment); 0 and
 * *payload, *plen the UDP payload, or -1.  udp_csum_pending: the
 * kernel says the UDP checksum is still to be filled in (a packet from
 * a local sender with checksum offload), so it is not checked. */
int dhcp_packet_parse(const uint8_t *buf, size_t len, bool udp_csum_pending,
		      const uint8_t **payload, size_t *plen);

/* "DHCPOFFER", ... ("DHCP(9)" for an unknown type). */
const char *dhcp_type_name(uint8_t type, char *buf, size_t len);

#endif
