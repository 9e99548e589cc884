/*
 * rtnetlink over libmnl (see netlink.h for the contract).
 *
 * Every operation is one transaction on the namespace's socket: build a
 * request in nl->req (a netlink header, the family header of the message
 * type, then attributes), stamp it with the next sequence number, send
 * it, and read replies until the transaction ends.  A request carries
 * NLM_F_ACK, so it ends with an NLMSG_ERROR message whose error is 0 (the
 * ACK) or -errno; a dump (NLM_F_DUMP) ends with NLMSG_DONE.  Replies go
 * through mnl_cb_run2(), which checks sequence number and port id; data
 * messages are turned into items of a growing array by a parser per
 * message type, and our own control callbacks read the error code and
 * the kernel's extended-ACK text (NETLINK_EXT_ACK), which names the
 * problem better than errno does ("Nexthop has invalid gateway").
 *
 * If a transaction is cut short before its final message (a parser
 * failed, the dump was interrupted), the rest is drained so the next
 * transaction never reads a stale reply.  An interrupted dump (the table
 * changed while it was read, NLM_F_DUMP_INTR) is retried.  The socket has
 * a receive timeout, so no call waits for the kernel forever.
 */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "netns.h"

#define NL_BUFSIZE 32768        /* the kernel never sends a larger dump part */
#define NL_REQSIZE 1024         /* our largest request (a veth) is ~150 bytes */
#define NL_TIMEOUT_S 5
#define NL_DUMP_TRIES 3

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	char ext[160];          /* extended-ACK text of the last kernel error */
	char err[512];          /* nl_error() */
	char req[NL_REQSIZE];
	char buf[NL_BUFSIZE];
};

/* ---- growable arrays of parsed items ---- */

struct vec {
	char *items;
	size_t n, cap, size;
};

/* A zeroed slot after the last item (not counted until filled). */
static void *vec_slot(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		char *p = realloc(v->items, cap * v->size);
		if (!p)
			return NULL;
		v->items = p;
		v->cap = cap;
	}
	return memset(v->items + v->n * v->size, 0, v->size);
}

/* The items for the caller (NULL and none when r is an error). */
static void *vec_take(struct vec *v, int r, size_t *n)
{
	if (r < 0) {
		free(v->items);
		v->items = NULL;
		v->n = 0;
	}
	*n = v->n;
	return v->items;
}

/* ---- socket ---- */

static void set_opt(struct nl *nl, int opt)
{
	int one = 1;
	/* best effort: error messages and dump sizes depend on it, not results */
	mnl_socket_setsockopt(nl->sock, opt, &one, sizeof(one));
}

static int nl_setup(struct nl *nl, int fd)
{
	struct timeval tv = {.tv_sec = NL_TIMEOUT_S};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	nl->sock = mnl_socket_fdopen(fd);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	set_opt(nl, NETLINK_EXT_ACK);
	set_opt(nl, NETLINK_CAP_ACK);   /* errors do not echo our request */
	/* Dumps honour the filters in their request (an address dump the
	 * ifa_index): with a thousand adapters in a stack, reading one
	 * adapter's addresses must not mean reading all of them (adding
	 * adapters would grow with their number, and a long dump is often cut
	 * short by another device's change, EINTR).  Without it (kernels
	 * before 4.20) the filters are applied here as well. */
	set_opt(nl, NETLINK_GET_STRICT_CHK);
	nl->portid = mnl_socket_get_portid(nl->sock);
	return 0;
}

struct nl *nl_open(int netns_fd)
{
	int fd = netns_socket(netns_fd, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	struct nl *nl = calloc(1, sizeof(*nl));
	int r = nl ? nl_setup(nl, fd) : -ENOMEM;
	if (r < 0) {
		if (nl && nl->sock)
			mnl_socket_close(nl->sock);
		else
			close(fd);
		free(nl);
		errno = -r;
		return NULL;
	}
	return nl;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

const char *nl_error(const struct nl *nl)
{
	return nl->err;
}

/* ---- transactions ---- */

/* Parses one data message into item: 1 item filled, 0 skip it, <0 error. */
typedef int (*item_parser)(const struct nlmsghdr *nlh, void *item);

struct txn {
	struct nl *nl;
	item_parser parse;
	struct vec *vec;
	int err;                /* first parser error */
	bool done;              /* the final message (ACK, error, DONE) came */
};

static int data_cb(const struct nlmsghdr *nlh, void *p)
{
	struct txn *t = p;
	if (!t->parse || t->err)
		return MNL_CB_OK;
	void *item = vec_slot(t->vec);
	int r = item ? t->parse(nlh, item) : -ENOMEM;
	if (r > 0)
		t->vec->n++;
	else if (r < 0)
		t->err = r;
	return MNL_CB_OK;
}

static int extack_attr(const struct nlattr *a, void *p)
{
	struct nl *nl = p;
	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(nl->ext, sizeof(nl->ext), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* The TLVs after struct nlmsgerr (and the echoed request, unless capped). */
static void read_extack(struct nl *nl, const struct nlmsghdr *nlh, const struct nlmsgerr *e)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	size_t off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(e->msg))
			return;
		off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(e->msg));
	}
	if (off < mnl_nlmsg_get_payload_len(nlh))
		mnl_attr_parse(nlh, off, extack_attr, nl);
}

static int error_cb(const struct nlmsghdr *nlh, void *p)
{
	struct txn *t = p;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	t->done = true;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;     /* the ACK */
	read_extack(t->nl, nlh, e);
	errno = e->error < 0 ? -e->error : EPROTO;
	return MNL_CB_ERROR;
}

/* End of a dump; its payload is the dump's status (0 or -errno). */
static int done_cb(const struct nlmsghdr *nlh, void *p)
{
	struct txn *t = p;
	t->done = true;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int status = *(const int *)mnl_nlmsg_get_payload(nlh);
		if (status < 0) {
			errno = -status;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static mnl_cb_t ctl_cbs[NLMSG_DONE + 1] = {
	[NLMSG_ERROR] = error_cb,
	[NLMSG_DONE] = done_cb,
};

/* True if the buffer holds the final message of transaction seq. */
static bool holds_end(const void *buf, ssize_t len, unsigned int seq)
{
	int left = (int)len;
	for (const struct nlmsghdr *h = buf; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
		if (h->nlmsg_seq == seq &&
		    (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* Reads and drops what is left of a transaction cut short (bounded). */
static void drain(struct nl *nl)
{
	int fd = mnl_socket_get_fd(nl->sock);
	for (int i = 0; i < 1000; i++) {
		ssize_t n = recv(fd, nl->buf, sizeof(nl->buf), MSG_DONTWAIT);
		if (n <= 0 || holds_end(nl->buf, n, nl->seq))
			return;
	}
}

static int receive(struct nl *nl, struct txn *t)
{
	int r = MNL_CB_OK;
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		r = mnl_cb_run2(nl->buf, n, nl->seq, nl->portid, data_cb, t,
				ctl_cbs, MNL_ARRAY_SIZE(ctl_cbs));
	} while (r == MNL_CB_OK);
	return r < 0 ? -errno : t->err;
}

/* Sends the request in nl->req and collects its replies into v. */
static int exchange(struct nl *nl, struct nlmsghdr *nlh, item_parser parse, struct vec *v)
{
	struct txn t = {.nl = nl, .parse = parse, .vec = v};
	nlh->nlmsg_seq = ++nl->seq;
	nl->ext[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	int r = receive(nl, &t);
	if (!t.done)
		drain(nl);
	return r;
}

/* A request that ends with an ACK; its replies, if any, parsed into v. */
static int request(struct nl *nl, struct nlmsghdr *nlh, item_parser parse, struct vec *v)
{
	nlh->nlmsg_flags |= NLM_F_ACK;
	return exchange(nl, nlh, parse, v);
}

static int dump(struct nl *nl, struct nlmsghdr *nlh, item_parser parse, struct vec *v)
{
	int r = -EINTR;
	nlh->nlmsg_flags |= NLM_F_DUMP;
	for (int i = 0; i < NL_DUMP_TRIES && r == -EINTR; i++) {
		v->n = 0;
		r = exchange(nl, nlh, parse, v);
	}
	return r;
}

/* Starts a request: netlink header plus the message type's own header. */
static struct nlmsghdr *msg_start(struct nl *nl, uint16_t type, uint16_t flags,
				  const void *hdr, size_t hdrlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->req);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	memcpy(mnl_nlmsg_put_extra_header(nlh, hdrlen), hdr, hdrlen);
	return nlh;
}

/* ---- error messages ---- */

static int vfail(struct nl *nl, int err, const char *fmt, va_list ap)
{
	char what[160];
	vsnprintf(what, sizeof(what), fmt, ap);
	if (nl->ext[0])
		snprintf(nl->err, sizeof(nl->err), "%s: %s (%s)", what, strerror(-err), nl->ext);
	else
		snprintf(nl->err, sizeof(nl->err), "%s: %s", what, strerror(-err));
	return err;
}

/* Returns r; when it is an error, records the message first. */
__attribute__((format(printf, 3, 4)))
static int check(struct nl *nl, int r, const char *fmt, ...)
{
	if (r >= 0) {
		nl->err[0] = '\0';
		return r;
	}
	va_list ap;
	va_start(ap, fmt);
	vfail(nl, r, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- prefixes ---- */

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int nl_prefix_parse(const char *s, struct nl_prefix *p)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(p, 0, sizeof(*p));
	p->family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, host, &p->addr) != 1)
		return -EINVAL;
	unsigned max = p->family == AF_INET ? 32 : 128;
	char *end;
	unsigned long len = slash ? strtoul(slash + 1, &end, 10) : max;
	if (slash && (!slash[1] || *end || len > max))
		return -EINVAL;
	p->len = (uint8_t)len;
	return 0;
}

char *nl_prefix_format(const struct nl_prefix *p, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	inet_ntop(p->family, &p->addr, host, sizeof(host));
	snprintf(buf, len, "%s/%u", host, p->len);
	return buf;
}

int nl_netmask_len(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	int len = __builtin_popcount(m);
	uint32_t want = len ? ~0u << (32 - len) : 0;
	return m == want ? len : -EINVAL;
}

static char *addr_str(int family, const union nl_inaddr *a, char *buf, size_t len)
{
	if (!inet_ntop(family, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* ---- links ---- */

static void link_kind(const struct nlattr *info, struct nl_link *l)
{
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, info) {
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
		    mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			snprintf(l->kind, sizeof(l->kind), "%.*s",
				 (int)strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a)),
				 (const char *)mnl_attr_get_payload(a));
	}
}

static void link_attr(const struct nlattr *a, struct nl_link *l)
{
	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(a) == sizeof(l->mac)) {
			memcpy(l->mac, mnl_attr_get_payload(a), sizeof(l->mac));
			l->mac_len = sizeof(l->mac);
		}
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_OPERSTATE:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			l->operstate = mnl_attr_get_u8(a);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			link_kind(a, l);
		break;
	case IFLA_GROUP:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->group = mnl_attr_get_u32(a);
		break;
	}
}

static int parse_link(const struct nlmsghdr *nlh, void *item)
{
	struct nl_link *l = item;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return 0;
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
		link_attr(a, l);
	return 1;
}

static struct nlmsghdr *link_msg(struct nl *nl, uint16_t type, uint16_t flags, int ifindex)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	return msg_start(nl, type, flags, &ifi, sizeof(ifi));
}

static int check_name(const char *name)
{
	return name && name[0] && strlen(name) < IFNAMSIZ ? 0 : -EINVAL;
}

/* Looks a link up by index or name (whichever is given); result in v. */
static int link_query(struct nl *nl, int ifindex, const char *name, struct vec *v)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_GETLINK, 0, ifindex);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int r = request(nl, nlh, parse_link, v);
	return r == 0 && v->n != 1 ? -ENODEV : r;
}

static int link_fetch(struct nl *nl, int ifindex, const char *name, struct nl_link *out)
{
	struct vec v = {.size = sizeof(*out)};
	int r = link_query(nl, ifindex, name, &v);
	if (r == 0)
		*out = *(struct nl_link *)v.items;
	free(v.items);
	return r;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *out)
{
	int r = check_name(name);
	if (r == 0)
		r = link_fetch(nl, 0, name, out);
	return check(nl, r, "get link %s", name ? name : "(null)");
}

int nl_link_index(struct nl *nl, const char *name)
{
	struct nl_link l;
	int r = nl_link_get(nl, name, &l);
	return r < 0 ? r : l.index;
}

int nl_link_list(struct nl *nl, struct nl_link **links, size_t *n)
{
	struct vec v = {.size = sizeof(**links)};
	int r = dump(nl, link_msg(nl, RTM_GETLINK, 0, 0), parse_link, &v);
	*links = vec_take(&v, check(nl, r, "list links"), n);
	return r;
}

/* "vmk1" for error messages (keeps the pending error's text). */
static const char *link_label(struct nl *nl, int ifindex, char *buf, size_t len)
{
	char ext[sizeof(nl->ext)];
	struct nl_link l;
	memcpy(ext, nl->ext, sizeof(ext));
	if (ifindex > 0 && link_fetch(nl, ifindex, NULL, &l) == 0)
		snprintf(buf, len, "%s", l.name);
	else
		snprintf(buf, len, "ifindex %d", ifindex);
	memcpy(nl->ext, ext, sizeof(ext));
	return buf;
}

/* Like check() for an operation on a link: "<pre> <link name><post>: ...". */
static int link_check(struct nl *nl, int r, int ifindex, const char *pre, const char *post)
{
	char label[IFNAMSIZ + 16];
	if (r >= 0)
		return check(nl, r, "%s", pre);
	return check(nl, r, "%s %s%s", pre, link_label(nl, ifindex, label, sizeof(label)), post);
}

int nl_link_set_up(struct nl *nl, int ifindex, bool up)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, 0, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	return link_check(nl, request(nl, nlh, NULL, NULL), ifindex, up ? "bring up" : "bring down", "");
}

int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned mtu)
{
	char to[32];
	struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, 0, ifindex);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	snprintf(to, sizeof(to), " to %u", mtu);
	return link_check(nl, request(nl, nlh, NULL, NULL), ifindex, "set MTU of", to);
}

int nl_link_set_mac(struct nl *nl, int ifindex, const uint8_t mac[6])
{
	char to[32];
	struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, 0, ifindex);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	snprintf(to, sizeof(to), " to %02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return link_check(nl, request(nl, nlh, NULL, NULL), ifindex, "set MAC of", to);
}

int nl_link_rename(struct nl *nl, int ifindex, const char *name)
{
	char to[IFNAMSIZ + 48];
	int r = check_name(name);
	snprintf(to, sizeof(to), " to %.40s", name ? name : "(null)");
	if (r == 0) {
		struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, 0, ifindex);
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
		r = request(nl, nlh, NULL, NULL);
	}
	return link_check(nl, r, ifindex, "rename", to);
}

int nl_link_set_netns(struct nl *nl, int ifindex, int netns_fd)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, 0, ifindex);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	return link_check(nl, request(nl, nlh, NULL, NULL), ifindex,
			  "move", " to another namespace");
}

int nl_link_delete(struct nl *nl, int ifindex)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_DELLINK, 0, ifindex);
	return link_check(nl, request(nl, nlh, NULL, NULL), ifindex, "delete link", "");
}

int nl_link_set_group(struct nl *nl, int ifindex, uint32_t group)
{
	char to[32];
	struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, 0, ifindex);
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	snprintf(to, sizeof(to), " to group %u", group);
	return link_check(nl, request(nl, nlh, NULL, NULL), ifindex, "move", to);
}

/* Index 0 and no name: the kernel takes IFLA_GROUP as the selector. */
int nl_link_delete_group(struct nl *nl, uint32_t group)
{
	if (group == 0)
		return check(nl, -EINVAL, "delete links of group 0: refused");
	struct nlmsghdr *nlh = link_msg(nl, RTM_DELLINK, 0, 0);
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	return check(nl, request(nl, nlh, NULL, NULL), "delete links of group %u", group);
}

/* IFLA_LINKINFO { KIND "veth", DATA { VETH_INFO_PEER { ifinfomsg, attrs } } } */
static void put_veth_peer(struct nlmsghdr *nlh, const char *peer, int peer_netns_fd)
{
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
}

int nl_veth_add(struct nl *nl, const char *name, const char *peer, int peer_netns_fd)
{
	int r = check_name(name) < 0 ? -EINVAL : check_name(peer);
	if (r == 0) {
		struct nlmsghdr *nlh = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
		put_veth_peer(nlh, peer, peer_netns_fd);
		r = request(nl, nlh, NULL, NULL);
	}
	return check(nl, r, "add veth %s peer %s", name ? name : "(null)",
		     peer ? peer : "(null)");
}

/* ---- interface addresses ---- */

static void addr_attr(const struct nlattr *a, struct nl_addr *ad, bool *have_local)
{
	size_t alen = addr_len(ad->prefix.family);
	int type = mnl_attr_get_type(a);
	if ((type == IFA_LOCAL || (type == IFA_ADDRESS && !*have_local)) &&
	    mnl_attr_get_payload_len(a) == alen) {
		memcpy(&ad->prefix.addr, mnl_attr_get_payload(a), alen);
		*have_local |= type == IFA_LOCAL;
	} else if (type == IFA_FLAGS && mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
		ad->flags = mnl_attr_get_u32(a);
	}
}

static int parse_addr(const struct nlmsghdr *nlh, void *item)
{
	struct nl_addr *ad = item;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa) ||
	    !addr_len(ifa->ifa_family))
		return 0;
	ad->index = (int)ifa->ifa_index;
	ad->prefix.family = ifa->ifa_family;
	ad->prefix.len = ifa->ifa_prefixlen;
	ad->scope = ifa->ifa_scope;
	ad->flags = ifa->ifa_flags;
	bool have_local = false;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
		addr_attr(a, ad, &have_local);
	return 1;
}

static bool is_loopback4(const struct nl_prefix *p)
{
	return p->family == AF_INET && (ntohl(p->addr.v4.s_addr) >> 24) == 127;
}

static struct nlmsghdr *addr_msg(struct nl *nl, uint16_t type, uint16_t flags, int ifindex,
				 const struct nl_prefix *p)
{
	struct ifaddrmsg ifa = {
		.ifa_family = (uint8_t)p->family,
		.ifa_prefixlen = p->len,
		.ifa_scope = is_loopback4(p) ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE,
		.ifa_index = (unsigned)ifindex,
	};
	struct nlmsghdr *nlh = msg_start(nl, type, flags, &ifa, sizeof(ifa));
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(p->family), &p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(p->family), &p->addr);
	return nlh;
}

static int check_prefix(const struct nl_prefix *p)
{
	size_t alen = addr_len(p->family);
	return alen && p->len <= alen * 8 ? 0 : -EINVAL;
}

/* The subnet's broadcast address, as `ip addr add ... brd +` sets it. */
static void put_broadcast(struct nlmsghdr *nlh, const struct nl_prefix *p)
{
	if (p->family != AF_INET || p->len > 30)
		return;
	uint32_t host_mask = p->len ? ~0u >> p->len : ~0u;
	struct in_addr brd = {.s_addr = p->addr.v4.s_addr | htonl(host_mask)};
	mnl_attr_put(nlh, IFA_BROADCAST, sizeof(brd), &brd);
}

static int addr_check(struct nl *nl, int r, bool add, int ifindex, const struct nl_prefix *p)
{
	char pfx[NL_PREFIX_STRLEN], pre[NL_PREFIX_STRLEN + 32];
	snprintf(pre, sizeof(pre), "%s address %s %s", add ? "add" : "remove",
		 nl_prefix_format(p, pfx, sizeof(pfx)), add ? "to" : "from");
	return link_check(nl, r, ifindex, pre, "");
}

int nl_addr_add(struct nl *nl, int ifindex, const struct nl_prefix *p, uint32_t flags)
{
	int r = check_prefix(p);
	if (r == 0) {
		struct nlmsghdr *nlh = addr_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
						ifindex, p);
		put_broadcast(nlh, p);
		if (flags)
			mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
		r = request(nl, nlh, NULL, NULL);
	}
	return addr_check(nl, r, true, ifindex, p);
}

int nl_addr_set_lifetime(struct nl *nl, int ifindex, const struct nl_prefix *p,
			 uint32_t valid, uint32_t preferred)
{
	int r = check_prefix(p);
	if (r == 0) {
		struct ifa_cacheinfo ci = { .ifa_prefered = preferred, .ifa_valid = valid };
		struct nlmsghdr *nlh = addr_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
						ifindex, p);
		put_broadcast(nlh, p);
		mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
		r = request(nl, nlh, NULL, NULL);
	}
	return addr_check(nl, r, true, ifindex, p);
}

int nl_addr_del(struct nl *nl, int ifindex, const struct nl_prefix *p)
{
	int r = check_prefix(p);
	if (r == 0)
		r = request(nl, addr_msg(nl, RTM_DELADDR, 0, ifindex, p), NULL, NULL);
	return addr_check(nl, r, false, ifindex, p);
}

/* Keeps the items of v whose index is ifindex (all when ifindex is 0). */
static void keep_link(struct vec *v, int ifindex)
{
	size_t kept = 0;
	for (size_t i = 0; ifindex && i < v->n; i++) {
		struct nl_addr *a = (struct nl_addr *)v->items + i;
		if (a->index == ifindex)
			((struct nl_addr *)v->items)[kept++] = *a;
	}
	if (ifindex)
		v->n = kept;
}

int nl_addr_list(struct nl *nl, int ifindex, int family, struct nl_addr **addrs, size_t *n)
{
	struct vec v = {.size = sizeof(**addrs)};
	struct ifaddrmsg ifa = {.ifa_family = (uint8_t)family,
				.ifa_index = ifindex > 0 ? (uint32_t)ifindex : 0};
	int r = dump(nl, msg_start(nl, RTM_GETADDR, 0, &ifa, sizeof(ifa)), parse_addr, &v);
	if (r == 0)
		keep_link(&v, ifindex);
	*addrs = vec_take(&v, check(nl, r, "list addresses"), n);
	return r;
}

static bool is_link_local6(const struct nl_addr *a)
{
	return a->prefix.family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a->prefix.addr.v6);
}

int nl_addr_flush(struct nl *nl, int ifindex, int family)
{
	struct nl_addr *addrs;
	size_t n;
	if (ifindex <= 0)
		return check(nl, -EINVAL, "flush addresses of ifindex %d", ifindex);
	int r = nl_addr_list(nl, ifindex, family, &addrs, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (is_link_local6(&addrs[i]))
			continue;
		r = nl_addr_del(nl, ifindex, &addrs[i].prefix);
		if (r == -EADDRNOTAVAIL)        /* a secondary gone with its primary */
			r = check(nl, 0, "flush");
	}
	free(addrs);
	return r;
}

/* ---- routes ---- */

static void route_attr(const struct nlattr *a, struct nl_route *rt, uint32_t *table)
{
	size_t alen = addr_len(rt->dst.family);
	switch (mnl_attr_get_type(a)) {
	case RTA_DST:
		if (mnl_attr_get_payload_len(a) == alen)
			memcpy(&rt->dst.addr, mnl_attr_get_payload(a), alen);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(a) == alen) {
			memcpy(&rt->gw, mnl_attr_get_payload(a), alen);
			rt->has_gw = true;
		}
		break;
	case RTA_OIF:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			rt->oif = (int)mnl_attr_get_u32(a);
		break;
	case RTA_PRIORITY:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			rt->metric = mnl_attr_get_u32(a);
		break;
	case RTA_TABLE:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			*table = mnl_attr_get_u32(a);
		break;
	}
}

static int parse_route(const struct nlmsghdr *nlh, void *item)
{
	struct nl_route *rt = item;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) ||
	    !addr_len(rtm->rtm_family) || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	uint32_t table = rtm->rtm_table;
	rt->dst.family = rtm->rtm_family;
	rt->dst.len = rtm->rtm_dst_len;
	rt->protocol = rtm->rtm_protocol;
	rt->scope = rtm->rtm_scope;
	rt->type = rtm->rtm_type;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
		route_attr(a, rt, &table);
	return table == RT_TABLE_MAIN ? 1 : 0;
}

static uint8_t route_scope(const struct nl_route *r, bool del)
{
	if (del)
		return RT_SCOPE_NOWHERE;        /* matches any scope */
	if (r->type && r->type != RTN_UNICAST)
		return RT_SCOPE_UNIVERSE;
	return r->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
}

static struct nlmsghdr *route_msg(struct nl *nl, uint16_t type, uint16_t flags,
				  const struct nl_route *r)
{
	bool del = type == RTM_DELROUTE;
	size_t alen = addr_len(r->dst.family);
	struct rtmsg rtm = {
		.rtm_family = (uint8_t)r->dst.family,
		.rtm_dst_len = r->dst.len,
		.rtm_table = !r->table ? RT_TABLE_MAIN : r->table < 256 ? (uint8_t)r->table :
			     RT_TABLE_UNSPEC,
		.rtm_protocol = del ? r->protocol : r->protocol ? r->protocol : RTPROT_STATIC,
		.rtm_scope = route_scope(r, del),
		.rtm_type = del ? r->type : r->type ? r->type : RTN_UNICAST,
		.rtm_flags = r->onlink && !del ? RTNH_F_ONLINK : 0,
	};
	struct nlmsghdr *nlh = msg_start(nl, type, flags, &rtm, sizeof(rtm));
	if (r->dst.len)
		mnl_attr_put(nlh, RTA_DST, alen, &r->dst.addr);
	if (r->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, &r->gw);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	if (r->table)
		mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	return nlh;
}

/* "route 10.2.0.0/24 via 10.1.0.2 dev veth0" for error messages. */
static void route_str(struct nl *nl, const struct nl_route *r, char *buf, size_t len)
{
	char dst[NL_PREFIX_STRLEN], gw[INET6_ADDRSTRLEN], dev[IFNAMSIZ + 16];
	int n = snprintf(buf, len, "route %s", r->dst.len ? nl_prefix_format(&r->dst, dst, sizeof(dst)) : "default");
	if (r->has_gw && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " via %s", addr_str(r->dst.family, &r->gw, gw, sizeof(gw)));
	if (r->oif && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " dev %s", link_label(nl, r->oif, dev, sizeof(dev)));
}

static int route_change(struct nl *nl, uint16_t type, uint16_t flags,
			const struct nl_route *r, const char *verb)
{
	int res = check_prefix(&r->dst);
	if (res == 0)
		res = request(nl, route_msg(nl, type, flags, r), NULL, NULL);
	if (res >= 0)
		return check(nl, res, "%s", verb);
	char what[160];
	route_str(nl, r, what, sizeof(what));
	return check(nl, res, "%s %s", verb, what);
}

int nl_route_add(struct nl *nl, const struct nl_route *r)
{
	return route_change(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, "add");
}

int nl_route_replace(struct nl *nl, const struct nl_route *r)
{
	return route_change(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, "replace");
}

int nl_route_del(struct nl *nl, const struct nl_route *r)
{
	return route_change(nl, RTM_DELROUTE, 0, r, "remove");
}

int nl_route_list(struct nl *nl, int family, struct nl_route **routes, size_t *n)
{
	struct vec v = {.size = sizeof(**routes)};
	struct rtmsg rtm = {.rtm_family = (uint8_t)family};
	int r = addr_len(family) ? 0 : -EAFNOSUPPORT;
	if (r == 0)
		r = dump(nl, msg_start(nl, RTM_GETROUTE, 0, &rtm, sizeof(rtm)), parse_route, &v);
	*routes = vec_take(&v, check(nl, r, "list routes"), n);
	return r;
}

/* ---- policy routing rules ---- */

static struct nlmsghdr *rule_msg(struct nl *nl, uint16_t type, uint16_t flags,
				 const struct nl_rule *r)
{
	struct fib_rule_hdr frh = {
		.family = (uint8_t)r->family,
		.src_len = r->has_src ? r->src.len : 0,
		.table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC,
		.action = FR_ACT_TO_TBL,
	};
	struct nlmsghdr *nlh = msg_start(nl, type, flags, &frh, sizeof(frh));
	if (r->priority)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->table)
		mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	if (r->has_src)
		mnl_attr_put(nlh, FRA_SRC, addr_len(r->family), &r->src.addr);
	if (r->oif[0])
		mnl_attr_put_strz(nlh, FRA_OIFNAME, r->oif);
	if (r->suppress_default)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	if (r->fwmark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
	}
	return nlh;
}

static int rule_change(struct nl *nl, uint16_t type, uint16_t flags, const struct nl_rule *r,
		       const char *verb)
{
	int res = addr_len(r->family) ? 0 : -EAFNOSUPPORT;
	if (res == 0)
		res = request(nl, rule_msg(nl, type, flags, r), NULL, NULL);
	return check(nl, res, "%s rule to table %u", verb, r->table);
}

int nl_rule_add(struct nl *nl, const struct nl_rule *r)
{
	return rule_change(nl, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r, "add");
}

int nl_rule_del(struct nl *nl, const struct nl_rule *r)
{
	return rule_change(nl, RTM_DELRULE, 0, r, "remove");
}

/* ---- neighbours ---- */

static void neigh_attr(const struct nlattr *a, struct nl_neigh *ne)
{
	size_t alen = addr_len(ne->family);
	switch (mnl_attr_get_type(a)) {
	case NDA_DST:
		if (mnl_attr_get_payload_len(a) == alen)
			memcpy(&ne->addr, mnl_attr_get_payload(a), alen);
		break;
	case NDA_LLADDR:
		if (mnl_attr_get_payload_len(a) == sizeof(ne->mac)) {
			memcpy(ne->mac, mnl_attr_get_payload(a), sizeof(ne->mac));
			ne->mac_len = sizeof(ne->mac);
		}
		break;
	case NDA_CACHEINFO:
		if (mnl_attr_get_payload_len(a) >= sizeof(struct nda_cacheinfo)) {
			const struct nda_cacheinfo *ci = mnl_attr_get_payload(a);
			ne->confirmed = ci->ndm_confirmed;
			ne->used = ci->ndm_used;
			ne->updated = ci->ndm_updated;
			ne->has_cacheinfo = true;
		}
		break;
	}
}

static int parse_neigh(const struct nlmsghdr *nlh, void *item)
{
	struct nl_neigh *ne = item;
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWNEIGH || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm) ||
	    !addr_len(ndm->ndm_family))
		return 0;
	ne->index = ndm->ndm_ifindex;
	ne->family = ndm->ndm_family;
	ne->state = ndm->ndm_state;
	ne->flags = ndm->ndm_flags;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ndm))
		neigh_attr(a, ne);
	return 1;
}

int nl_neigh_list(struct nl *nl, int family, struct nl_neigh **neighs, size_t *n)
{
	struct vec v = {.size = sizeof(**neighs)};
	struct ndmsg ndm = {.ndm_family = (uint8_t)family};
	int r = dump(nl, msg_start(nl, RTM_GETNEIGH, 0, &ndm, sizeof(ndm)), parse_neigh, &v);
	*neighs = vec_take(&v, check(nl, r, "list neighbours"), n);
	return r;
}

int nl_neigh_del(struct nl *nl, const struct nl_neigh *ne)
{
	char a[INET6_ADDRSTRLEN];
	struct ndmsg ndm = {.ndm_family = (uint8_t)ne->family, .ndm_ifindex = ne->index};
	int r = addr_len(ne->family) ? 0 : -EAFNOSUPPORT;
	if (r == 0) {
		struct nlmsghdr *nlh = msg_start(nl, RTM_DELNEIGH, 0, &ndm, sizeof(ndm));
		mnl_attr_put(nlh, NDA_DST, addr_len(ne->family), &ne->addr);
		r = request(nl, nlh, NULL, NULL);
	}
	return check(nl, r, "remove neighbour %s", addr_str(ne->family, &ne->addr, a, sizeof(a)));
}

/* One link's parameters of a neighbour table (RTM_NEWNEIGHTBL). */
struct neigh_parms {
	int ifindex;
	long long reachable_ms;
};

static void neightbl_parms(const struct nlattr *nest, struct neigh_parms *p)
{
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == NDTPA_IFINDEX &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			p->ifindex = (int)mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == NDTPA_REACHABLE_TIME &&
			 mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			p->reachable_ms = (long long)mnl_attr_get_u64(a);
	}
}

/* The table's defaults (no NDTPA_IFINDEX) come as ifindex 0. */
static int parse_neightbl(const struct nlmsghdr *nlh, void *item)
{
	struct neigh_parms *p = item;
	const struct nlattr *a;
	if (nlh->nlmsg_type != RTM_NEWNEIGHTBL ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ndtmsg))
		return 0;
	p->reachable_ms = -1;
	mnl_attr_for_each(a, nlh, sizeof(struct ndtmsg))
		if (mnl_attr_get_type(a) == NDTA_PARMS)
			neightbl_parms(a, p);
	return p->reachable_ms >= 0;
}

long long nl_neigh_reachable_ms(struct nl *nl, int family, int ifindex)
{
	struct vec v = {.size = sizeof(struct neigh_parms)};
	struct ndtmsg ndtm = {.ndtm_family = (uint8_t)family};
	int r = dump(nl, msg_start(nl, RTM_GETNEIGHTBL, 0, &ndtm, sizeof(ndtm)), parse_neightbl,
		     &v);
	size_t n;
	struct neigh_parms *p = vec_take(&v, check(nl, r, "read neighbour parameters"), &n);
	long long ms = r < 0 ? r : -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (p[i].ifindex == ifindex)
			ms = p[i].reachable_ms;
	free(p);
	return ms;
}
