/*
 * Sockets of a TCP/IP stack: `esxcli network ip connection list`.
 *
 * The kernel tells them through NETLINK_SOCK_DIAG (inet_diag), asked on
 * a socket created inside the stack's namespace, so only that stack's
 * sockets come back: one dump per protocol and family (TCP, UDP, and
 * for --type ip the raw IP sockets, each IPv4 then IPv6), every state.
 * TCP sockets carry their congestion control algorithm (INET_DIAG_CONG;
 * Linux's "reno" is the reference's "newreno"); sockets without a full
 * socket behind them (TIME_WAIT, a half-open connection) have none.
 *
 * Recv Q and Send Q are the bytes queued on the socket; a listener's
 * are 0, as in BSD's netstat (Linux reports its accept backlog there).
 * State is the BSD name of the TCP state (SYN_RECEIVED, FIN_WAIT_1...)
 * as ESXi, a BSD stack, shows them; UDP and raw sockets have none.
 *
 * World ID and World Name are the pid and command of a process holding
 * the socket.  A socket knows no owner; its inode is found among the
 * open files of the processes whose network namespace is the stack's,
 * scanned through /proc (bounded: SCAN_PROCS processes, SCAN_FDS open
 * files in all).  A socket held only by a process of another namespace
 * (created in the stack by a thread that entered it, as vmkping does),
 * or beyond the bounds, shows World ID 0 and an empty name.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "api.h"
#include "ip.h"
#include "netns.h"

#define DIAG_TIMEOUT_S 5
#define SCAN_PROCS 4096
#define SCAN_FDS 32768
#define ADDR_PORT_LEN (INET6_ADDRSTRLEN + 8)

struct conn {
	const char *proto;
	unsigned rq, sq;
	char local[ADDR_PORT_LEN], foreign[ADDR_PORT_LEN];
	const char *state;
	char cc[16];
	unsigned long inode;
	int pid;
	char comm[20];
};

struct conn_vec {
	struct conn *c;
	size_t n, cap;
};

static struct conn *conn_slot(struct conn_vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct conn *p = realloc(v->c, cap * sizeof(*p));
		if (!p)
			return NULL;
		v->c = p;
		v->cap = cap;
	}
	return memset(&v->c[v->n], 0, sizeof(*v->c));
}

/* ---- reading the kernel's sockets ---- */

static const char *bsd_state(int proto, uint8_t s)
{
	static const char *const names[] = {
		[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECEIVED", [4] = "FIN_WAIT_1",
		[5] = "FIN_WAIT_2", [6] = "TIME_WAIT", [7] = "CLOSED", [8] = "CLOSE_WAIT",
		[9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING", [12] = "SYN_RECEIVED",
	};

	if (proto != IPPROTO_TCP)
		return "";
	return s < sizeof(names) / sizeof(*names) && names[s] ? names[s] : "";
}

/* "10.0.0.1:22", "[2001:db8::1]:22". */
static void addr_port(int af, const __be32 *a, __be16 port, char *buf)
{
	char t[INET6_ADDRSTRLEN] = "?";

	inet_ntop(af, a, t, sizeof(t));
	snprintf(buf, ADDR_PORT_LEN, af == AF_INET6 ? "[%s]:%u" : "%s:%u", t, ntohs(port));
}

struct dump_ctx {
	struct conn_vec *v;
	int proto;
	const char *name;
	int err;
};

static void read_cong(const struct nlmsghdr *nlh, struct conn *c)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct inet_diag_msg)) {
		if (mnl_attr_get_type(a) != INET_DIAG_CONG ||
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		const char *cc = mnl_attr_get_str(a);
		snprintf(c->cc, sizeof(c->cc), "%s", strcmp(cc, "reno") == 0 ? "newreno" : cc);
	}
}

static int diag_msg_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct dump_ctx *d = arg;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	struct conn *c = conn_slot(d->v);
	if (!c) {
		d->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	bool listen = d->proto == IPPROTO_TCP && m->idiag_state == 10;
	c->proto = d->name;
	c->rq = listen ? 0 : m->idiag_rqueue;
	c->sq = listen ? 0 : m->idiag_wqueue;
	addr_port(m->idiag_family, m->id.idiag_src, m->id.idiag_sport, c->local);
	addr_port(m->idiag_family, m->id.idiag_dst, m->id.idiag_dport, c->foreign);
	c->state = bsd_state(d->proto, m->idiag_state);
	c->inode = m->idiag_inode;
	if (d->proto == IPPROTO_TCP)
		read_cong(nlh, c);
	d->v->n++;
	return MNL_CB_OK;
}

/* One dump: every socket of (af, proto) into v.  0 or -errno; a kernel
 * without the module for a protocol (raw_diag) answers -ENOENT. */
static int diag_dump(struct mnl_socket *sk, int af, int proto, const char *name,
		     struct conn_vec *v)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	unsigned seq = (unsigned)(af << 8 | proto), portid = mnl_socket_get_portid(sk);
	struct dump_ctx d = { .v = v, .proto = proto, .name = name };
	size_t start = v->n;
	int r;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req->sdiag_family = (uint8_t)af;
	req->sdiag_protocol = (uint8_t)proto;
	req->idiag_states = ~0u;
	if (proto == IPPROTO_TCP)
		req->idiag_ext = 1 << (INET_DIAG_CONG - 1);
	if (mnl_socket_sendto(sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(sk, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, diag_msg_cb, &d);
	} while (r == MNL_CB_OK);
	if (r < 0) {
		v->n = start;
		return d.err ? d.err : -errno;
	}
	return 0;
}

static struct mnl_socket *diag_open(const struct stackns *s)
{
	struct timeval tv = { .tv_sec = DIAG_TIMEOUT_S };
	int fd = netns_socket(s->fd, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	struct mnl_socket *sk = mnl_socket_fdopen(fd);
	if (!sk) {
		close(fd);
		return NULL;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(sk);
		return NULL;
	}
	return sk;
}

/* ---- owners ---- */

static int cmp_inode(const void *pa, const void *pb)
{
	const struct conn *a = *(struct conn *const *)pa, *b = *(struct conn *const *)pb;

	return a->inode < b->inode ? -1 : a->inode > b->inode;
}

static bool same_netns(const char *path, const struct stat *ns)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
}

static void read_comm(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = '\0';
	if ((f = fopen(path, "re"))) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

/* Gives the sockets of by_inode (sorted) that process pid holds their
 * owner; *budget counts down the open files looked at. */
static void scan_fds(int pid, struct conn **by_inode, size_t n, long *budget)
{
	char path[64], target[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if (!(d = opendir(path)))
		return;
	while (*budget > 0 && (e = readdir(d))) {
		char fdpath[sizeof(path) + sizeof(e->d_name)];
		unsigned long ino;
		struct conn key, *kp = &key, **hit;
		ssize_t l;

		(*budget)--;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
		if ((l = readlink(fdpath, target, sizeof(target) - 1)) <= 0)
			continue;
		target[l] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) != 1)
			continue;
		key.inode = ino;
		hit = bsearch(&kp, by_inode, n, sizeof(*by_inode), cmp_inode);
		if (hit && !(*hit)->pid) {
			(*hit)->pid = pid;
			read_comm(pid, (*hit)->comm, sizeof((*hit)->comm));
		}
	}
	closedir(d);
}

static void find_owners(const struct stackns *s, struct conn_vec *v)
{
	struct conn **by_inode = calloc(v->n ? v->n : 1, sizeof(*by_inode));
	long budget = SCAN_FDS;
	struct stat ns;
	struct dirent *e;
	DIR *proc;
	int procs = 0;

	if (!by_inode)
		return;
	for (size_t i = 0; i < v->n; i++)
		by_inode[i] = &v->c[i];
	qsort(by_inode, v->n, sizeof(*by_inode), cmp_inode);
	bool ok = s->fd >= 0 ? fstat(s->fd, &ns) == 0 : stat("/proc/self/ns/net", &ns) == 0;
	if (ok && v->n && (proc = opendir("/proc"))) {
		while (procs < SCAN_PROCS && budget > 0 && (e = readdir(proc))) {
			char nspath[64];
			int pid = atoi(e->d_name);
			if (pid <= 0)
				continue;
			procs++;
			snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", pid);
			if (same_netns(nspath, &ns))
				scan_fds(pid, by_inode, v->n, &budget);
		}
		closedir(proc);
	}
	free(by_inode);
}

/* ---- list ---- */

struct diag_kind {
	int proto;
	const char *name;
	const char *type;       /* the --type that includes it besides "all" */
};

static const struct diag_kind kinds[] = {
	{ IPPROTO_TCP, "tcp", "tcp" },
	{ IPPROTO_UDP, "udp", "udp" },
	{ IPPROTO_RAW, "ip", "ip" },
};

static json_t *conn_json(const struct conn *c)
{
	return json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:i, s:s, s:s}", "Proto", c->proto,
			 "RecvQ", (int)c->rq, "SendQ", (int)c->sq, "LocalAddress", c->local,
			 "ForeignAddress", c->foreign, "State", c->state, "WorldID", c->pid,
			 "CCAlgo", c->cc, "WorldName", c->comm);
}

static int read_all(const struct stackns *s, const char *type, struct conn_vec *v)
{
	static const int afs[] = { AF_INET, AF_INET6 };
	struct mnl_socket *sk = diag_open(s);

	if (!sk)
		return -errno;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
		if (strcmp(type, "all") != 0 && strcmp(type, kinds[k].type) != 0)
			continue;
		for (int f = 0; f < 2; f++) {
			int r = diag_dump(sk, afs[f], kinds[k].proto, kinds[k].name, v);
			/* no raw_diag in this kernel, or IPv6 not built: none of those */
			if (r < 0 && r != -ENOENT && r != -EAFNOSUPPORT && r != -EINVAL) {
				mnl_socket_close(sk);
				return r;
			}
		}
	}
	mnl_socket_close(sk);
	return 0;
}

static json_t *connection_list(json_t *params)
{
	const char *stack = param_str(params, "netstack");
	const char *type = param_str(params, "type");
	const char *name = stack ? stack : DEFAULT_STACK;
	struct conn_vec v = { 0 };

	if (!type)
		type = "all";
	if (strcmp(type, "ip") && strcmp(type, "tcp") && strcmp(type, "udp") &&
	    strcmp(type, "all"))
		return api_invalid("Invalid --type '%s': must be ip, tcp, udp or all", type);
	if (stack && !netstack_id(stack))
		return err_no_netstack(stack);
	const struct stackns *s = stackns_get(name);
	if (!s)
		return api_refused("Cannot read the connections of netstack %s: it is not "
				   "realized", name);
	int r = read_all(s, type, &v);
	if (r < 0) {
		free(v.c);
		return api_refused("Cannot read the connections of netstack %s: %s", name,
				   strerror(-r));
	}
	find_owners(s, &v);
	json_t *list = json_array();
	for (size_t i = 0; i < v.n; i++)
		json_array_append_new(list, conn_json(&v.c[i]));
	free(v.c);
	return list;
}

static const struct api_method methods[] = {
	{ "network.ip.connection.list", connection_list },
	{ 0 }
};

void connection_register(void)
{
	api_register(methods);
}
