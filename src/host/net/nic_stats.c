/*
 * `esxcli network nic stats get`: a NIC's counters, read from the kernel
 * with one rtnetlink RTM_GETLINK request for its ifindex (IFLA_STATS64,
 * the 64-bit counters `ip -s link` shows), in vmkd's own namespace.
 *
 * The counters map one to one onto ESXi's, except those Linux does not
 * keep: broadcasts (received and sent) and multicasts sent are 0.
 * Linux's rx_dropped is "Receive packets dropped", rx_missed_errors (the
 * NIC's own overruns) only "Receive missed errors".
 *
 * The human output is headed "NIC statistics for vmnicN" (a heading-only
 * field, Heading, that the machine formatters leave out).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api.h"
#include "nic.h"

struct stats_reply {
	bool found;
	struct rtnl_link_stats64 s;
};

static int stats_attr(const struct nlattr *a, void *data)
{
	struct stats_reply *r = data;

	/* kernels before 5.19 send a shorter struct: take what came, as long
	 * as it reaches the last counter printed */
	size_t need = offsetof(struct rtnl_link_stats64, tx_window_errors) +
		      sizeof(r->s.tx_window_errors);
	size_t len = mnl_attr_get_payload_len(a);
	if (mnl_attr_get_type(a) == IFLA_STATS64 && len >= need) {
		memset(&r->s, 0, sizeof(r->s));
		memcpy(&r->s, mnl_attr_get_payload(a), len < sizeof(r->s) ? len : sizeof(r->s));
		r->found = true;
	}
	return MNL_CB_OK;
}

static int link_reply(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), stats_attr, data);
	return MNL_CB_OK;
}

/* 0 with r filled, or -errno. */
static int read_stats(int ifindex, struct stats_reply *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	unsigned seq = (unsigned)time(NULL);
	int rc = -EIO;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	ssize_t len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (len < 0) {
		rc = -errno;
		goto out;
	}
	rc = mnl_cb_run(buf, (size_t)len, seq, mnl_socket_get_portid(nl), link_reply, r) < 0 ?
		-errno : 0;
out:
	mnl_socket_close(nl);
	return rc;
}

#define ZERO SIZE_MAX /* a counter Linux does not keep */
#define C(key, field) { (key), offsetof(struct rtnl_link_stats64, field) }

/* ESXi's counters (internal names) and Linux's. */
static const struct { const char *key; size_t off; } counters[] = {
	C("Packetsreceived", rx_packets), C("Packetssent", tx_packets),
	C("Bytesreceived", rx_bytes), C("Bytessent", tx_bytes),
	C("Receivepacketsdropped", rx_dropped), C("Transmitpacketsdropped", tx_dropped),
	C("Multicastpacketsreceived", multicast), { "Broadcastpacketsreceived", ZERO },
	{ "Multicastpacketssent", ZERO }, { "Broadcastpacketssent", ZERO },
	C("Totalreceiveerrors", rx_errors), C("Receivelengtherrors", rx_length_errors),
	C("Receiveovererrors", rx_over_errors), C("ReceiveCRCerrors", rx_crc_errors),
	C("Receiveframeerrors", rx_frame_errors), C("ReceiveFIFOerrors", rx_fifo_errors),
	C("Receivemissederrors", rx_missed_errors), C("Totaltransmiterrors", tx_errors),
	C("Transmitabortederrors", tx_aborted_errors),
	C("Transmitcarriererrors", tx_carrier_errors),
	C("TransmitFIFOerrors", tx_fifo_errors),
	C("Transmitheartbeaterrors", tx_heartbeat_errors),
	C("Transmitwindowerrors", tx_window_errors),
};

static json_t *stats_json(const struct nic_info *n, const struct rtnl_link_stats64 *s)
{
	char heading[64];
	json_t *o = json_object();

	snprintf(heading, sizeof(heading), "NIC statistics for %s", n->name);
	json_object_set_new(o, "Heading", json_string(heading));
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		__u64 v = 0;
		if (counters[i].off != ZERO)
			memcpy(&v, (const char *)s + counters[i].off, sizeof(v));
		json_object_set_new(o, counters[i].key, json_integer((json_int_t)v));
	}
	return o;
}

json_t *nic_stats_json(const struct nic_info *n)
{
	struct stats_reply r = { 0 };
	int ifindex = (int)if_nametoindex(n->linux_name);
	int rc = ifindex ? read_stats(ifindex, &r) : -errno;

	if (rc == 0 && !r.found)
		rc = -EOPNOTSUPP;
	if (rc < 0)
		return api_refused("Cannot read the counters of %s (%s): %s", n->name,
				   n->linux_name, strerror(-rc));
	return stats_json(n, &r.s);
}
