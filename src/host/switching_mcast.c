/*
 * The multicast groups of VMkernel adapters, for the switch's multicast
 * filter (datapath/mcast.c): which multicast MACs a vmknic's port is to
 * receive.
 *
 * A vmknic is a TAP, and a TAP tells nobody what its stack joined (the
 * tun driver ignores its device's multicast list), so the groups come
 * from two places:
 *
 *   - what the kernel is known to join for an adapter, computed from its
 *     configuration at once: all-nodes (33:33:00:00:00:01, IPv6),
 *     all-hosts (01:00:5e:00:00:01, IPv4), and the solicited-node group
 *     (33:33:ff + the address's last 3 bytes) of each IPv6 address: its
 *     EUI-64 link-local one, which ends in the MAC's last 3 bytes, and its
 *     static ones.  The kernel joins those asynchronously (in its DAD
 *     work), after the request that made them has returned, so waiting
 *     for it to show them would leave a window in which neighbour
 *     solicitations for a new address are filtered away;
 *   - what the kernel has joined, read from the namespace's
 *     /proc/net/dev_mcast (the link-layer groups of every device there)
 *     once a second: groups a program in the stack joined, addresses
 *     made in the stack by someone else.
 *
 * The filter is the union.  A device in promiscuous or all-multicast mode
 * gets no filter (switching_vmknic.c checks the flags).
 *
 * dev_mcast is opened inside the stack's namespace (/proc/thread-self/net
 * follows the thread that opens it) and kept open: the file stays bound
 * to that namespace, and each read from offset 0 regenerates it.  Like
 * the socket switching_vmknic.c keeps per namespace, the fd holds the
 * namespace, and both are closed with the stack's last adapter.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"
#include "switching_internal.h"

#define MC_SET_MAX 4096		/* groups per adapter: more is not a host's */
#define MC_FILE_MAX (64u << 20)	/* dev_mcast bytes read at most */

static uint64_t mac_key(const uint8_t *m)
{
	uint64_t k = 0;

	for (int i = 0; i < 6; i++)
		k = k << 8 | m[i];
	return k;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- sets of groups ---- */

void sw_mc_set_clear(struct sw_mc_set *s)
{
	s->n = 0;
}

void sw_mc_set_free(struct sw_mc_set *s)
{
	free(s->key);
	*s = (struct sw_mc_set){ 0 };
}

int sw_mc_set_add(struct sw_mc_set *s, uint64_t key)
{
	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 8;
		uint64_t *k = cap <= MC_SET_MAX ? realloc(s->key, cap * sizeof(*k)) : NULL;
		if (!k)
			return -ENOMEM;
		s->key = k;
		s->cap = cap;
	}
	s->key[s->n++] = key;
	return 0;
}

/* Sorts and removes duplicates. */
void sw_mc_set_normalize(struct sw_mc_set *s)
{
	unsigned k = 0;

	qsort(s->key, s->n, sizeof(*s->key), cmp_u64);
	for (unsigned i = 0; i < s->n; i++)
		if (k == 0 || s->key[i] != s->key[k - 1])
			s->key[k++] = s->key[i];
	s->n = k;
}

bool sw_mc_set_equal(const struct sw_mc_set *a, const struct sw_mc_set *b)
{
	return a->n == b->n && (!a->n || memcmp(a->key, b->key, a->n * sizeof(*a->key)) == 0);
}

/* ---- what the kernel joins for an adapter ---- */

static void solicited_node(struct sw_mc_set *s, const uint8_t last3[3])
{
	const uint8_t m[6] = { 0x33, 0x33, 0xff, last3[0], last3[1], last3[2] };

	sw_mc_set_add(s, mac_key(m));
}

void sw_mc_expected(struct sw_mc_set *s, const uint8_t mac[6], const struct in6_addr *v6,
		    unsigned n)
{
	static const uint8_t all_nodes[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t all_hosts[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };

	sw_mc_set_clear(s);
	sw_mc_set_add(s, mac_key(all_nodes));
	sw_mc_set_add(s, mac_key(all_hosts));
	solicited_node(s, mac + 3);
	for (unsigned i = 0; i < n; i++)
		solicited_node(s, v6[i].s6_addr + 13);
	sw_mc_set_normalize(s);
}

/* ---- what the kernel has joined: /proc/net/dev_mcast ---- */

static int open_here(void *arg)
{
	(void)arg;
	int fd = open("/proc/thread-self/net/dev_mcast", O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sw_mc_open(int nsfd)
{
	return netns_run(nsfd, open_here, NULL);
}

/* The whole file, NUL-terminated, in t->buf. */
static int slurp(int fd, struct sw_mc_table *t)
{
	size_t len = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		if (t->bufcap - len < 4096) {
			size_t cap = t->bufcap ? 2 * t->bufcap : 65536;
			char *b = cap <= MC_FILE_MAX ? realloc(t->buf, cap) : NULL;
			if (!b)
				return -ENOMEM;
			t->buf = b;
			t->bufcap = cap;
		}
		ssize_t r = read(fd, t->buf + len, t->bufcap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	t->buf[len] = 0;
	return 0;
}

static int entry_add(struct sw_mc_table *t, const char *name, uint64_t key)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct sw_mc_entry *e = realloc(t->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	snprintf(t->e[t->n].ifname, sizeof(t->e[t->n].ifname), "%s", name);
	t->e[t->n++].key = key;
	return 0;
}

/* "ifindex name users global 333300000001" */
static int parse_line(struct sw_mc_table *t, const char *line)
{
	char name[IF_NAMESIZE], hex[13];
	int idx, users, global;
	uint8_t m[6];

	if (sscanf(line, "%d %15s %d %d %12s", &idx, name, &users, &global, hex) != 5 ||
	    strlen(hex) != 12)
		return 0;
	for (int i = 0; i < 6; i++) {
		unsigned b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return 0;
		m[i] = (uint8_t)b;
	}
	return entry_add(t, name, mac_key(m));
}

static int cmp_entry(const void *a, const void *b)
{
	const struct sw_mc_entry *x = a, *y = b;

	return strcmp(x->ifname, y->ifname);
}

int sw_mc_read(int fd, struct sw_mc_table *t)
{
	int r = slurp(fd, t);

	t->n = 0;
	for (char *line = t->buf, *nl; r == 0 && line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		r = parse_line(t, line);
	}
	if (r < 0)
		t->n = 0;
	qsort(t->e, t->n, sizeof(*t->e), cmp_entry);
	return r;
}

int sw_mc_lookup(const struct sw_mc_table *t, const char *ifname, struct sw_mc_set *s)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {		/* the first entry of ifname */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->e[mid].ifname, ifname) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	sw_mc_set_clear(s);
	for (size_t i = lo; i < t->n && strcmp(t->e[i].ifname, ifname) == 0; i++)
		if (sw_mc_set_add(s, t->e[i].key) < 0)
			return -ENOMEM;
	sw_mc_set_normalize(s);
	return 0;
}

void sw_mc_table_free(struct sw_mc_table *t)
{
	free(t->e);
	free(t->buf);
	*t = (struct sw_mc_table){ 0 };
}
