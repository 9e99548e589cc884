/*
 * Uplinks of the live vSwitches: an AF_PACKET port (datapath's
 * port_packet.c) on the Linux interface behind each vmnic the store lists
 * as an uplink, and the watch that keeps their link state current.
 *
 * The store names uplinks by vmnic; the nic table gives the Linux name of
 * an aliased NIC (nic.c), any other vmnic is its own Linux name.  vmkd's
 * main thread lives in the host's namespace (defaultTcpipStack), where the
 * NICs are, so interfaces are looked up and configured here directly, with
 * ioctls on one datagram socket.
 *
 * A NIC the store lists but the namespace lacks (not created yet, deleted,
 * renamed) stays an uplink without a port; the poll opens it when it
 * appears and closes a port whose interface went away or was replaced (a
 * new ifindex under the same name).  The vSwitch's MTU is set on each
 * uplink interface as it is opened and when the MTU changes, as the
 * reference sets it on its pNICs: a packet socket cannot send a frame
 * larger than its interface's MTU.  The interface's admin state is never
 * touched: an administrator's `ip link set down` is a link failure.
 *
 * Link state is "up" when the interface is up and has its carrier
 * (dp_link_is_up).  It is read on every rtnetlink link event of this
 * namespace (RTNLGRP_LINK: failover within a few milliseconds of the
 * change) and once a second (events can be lost when the socket
 * overflows, and the kernel tells some carrier changes up to a second
 * late); each change is told to the switch (dp_switch_set_link), whose teaming fails over, announces
 * the moved MACs and fails back as the port groups' policies say.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "loop.h"
#include "store.h"
#include "switching_internal.h"
#include "vmklog.h"

static int ctl_fd = -1, nl_fd = -1, tick_fd = -1;
static void (*link_cb)(void), (*tick_cb)(void);

static int ifreq_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	return ioctl(ctl_fd, req, ifr);
}

static void set_mtu(const struct sw_vswitch *vs, const struct sw_uplink *u)
{
	struct ifreq ifr = { 0 };

	if (ifreq_ioctl(u->ifname, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu == (int)vs->mtu)
		return;
	ifr.ifr_mtu = (int)vs->mtu;
	if (ifreq_ioctl(u->ifname, SIOCSIFMTU, &ifr) < 0)
		vmklog_warn("Uplink", "%s: cannot set MTU %u on %s: %s", u->nic, vs->mtu,
			    u->ifname, strerror(errno));
}

/*
 * An uplink carries its vSwitch only, as a vmnic does: the kernel's own
 * stack of this namespace must not answer on it.  Linux answers ARP on any
 * interface for every address of the namespace, so the NIC would answer
 * for the vmknics' addresses with its own MAC and a peer would send their
 * traffic to the NIC, around the switch; whichever reply came last won.
 * arp_ignore 8 stops that; IPv6 needs nothing, as neighbour discovery
 * answers per interface.  A NIC that holds IPv4 addresses of its own is
 * the host's, and is left as it is with a warning: taking its ARP away
 * would cut the host off on it.  The value from before comes back when the
 * NIC leaves the vSwitch; one that is already 8 was left by a vmkd that
 * died, and comes back as the namespace's default.
 */
#define ARP_IGNORE_KEY "ipv4/conf/%s/arp_ignore"
#define ARP_IGNORE_NONE "8"

static int sysctl_path(char *path, size_t len, const char *key, const char *ifname)
{
	char k[96];

	snprintf(k, sizeof(k), key, ifname);
	return snprintf(path, len, "/proc/sys/net/%s", k) < (int)len ? 0 : -1;
}

static int sysctl_read(const char *key, const char *ifname, char *out, size_t len)
{
	char path[160];
	FILE *f;

	if (sysctl_path(path, sizeof(path), key, ifname) < 0 || !(f = fopen(path, "re")))
		return -1;
	bool ok = fgets(out, (int)len, f) != NULL;
	fclose(f);
	out[ok ? strcspn(out, "\n") : 0] = 0;
	return ok ? 0 : -1;
}

static int sysctl_write(const char *key, const char *ifname, const char *value)
{
	char path[160];
	FILE *f;

	if (sysctl_path(path, sizeof(path), key, ifname) < 0 || !(f = fopen(path, "we")))
		return -1;
	bool ok = fputs(value, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* The first IPv4 address of ifname, as text, or "" when it has none. */
static void ipv4_address_of(const char *ifname, char *out, size_t len)
{
	struct ifaddrs *list, *a;

	out[0] = 0;
	if (getifaddrs(&list) < 0)
		return;
	for (a = list; a; a = a->ifa_next)
		if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET &&
		    !strcmp(a->ifa_name, ifname)) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)a->ifa_addr)->sin_addr, out,
				  (socklen_t)len);
			break;
		}
	freeifaddrs(list);
}

static void uplink_claim(struct sw_uplink *u)
{
	char addr[INET_ADDRSTRLEN];

	ipv4_address_of(u->ifname, addr, sizeof(addr));
	if (addr[0]) {
		vmklog_warn("Uplink", "%s (%s) has the host's address %s: the host keeps "
			    "answering ARP on it for every address of defaultTcpipStack, the "
			    "vmknics' included", u->nic, u->ifname, addr);
		return;
	}
	if (sysctl_read(ARP_IGNORE_KEY, u->ifname, u->saved_arp_ignore,
			sizeof(u->saved_arp_ignore)) < 0 ||
	    sysctl_write(ARP_IGNORE_KEY, u->ifname, ARP_IGNORE_NONE) < 0) {
		vmklog_warn("Uplink", "%s: cannot keep the host's ARP off %s: %s", u->nic,
			    u->ifname, strerror(errno));
		return;
	}
	if (!strcmp(u->saved_arp_ignore, ARP_IGNORE_NONE) &&
	    sysctl_read(ARP_IGNORE_KEY, "default", u->saved_arp_ignore,
			sizeof(u->saved_arp_ignore)) < 0)
		snprintf(u->saved_arp_ignore, sizeof(u->saved_arp_ignore), "0");
	u->claimed = true;
}

static void uplink_release(struct sw_uplink *u)
{
	if (!u->claimed)
		return;
	sysctl_write(ARP_IGNORE_KEY, u->ifname, u->saved_arp_ignore);
	u->claimed = false;
}

static void uplink_close(struct sw_uplink *u)
{
	uplink_release(u);
	if (!u->port)
		return;
	sw_log_port_stats(u->port);
	dp_runner_del(sw_runner, u->port);
	dp_switch_detach(u->port);
	dp_port_destroy(u->port);
	u->port = NULL;
	u->ifindex = 0;
}

static int uplink_attach(struct sw_vswitch *vs, struct dp_port *p)
{
	if (dp_switch_attach_uplink(vs->dp, p) < 0)
		return -1;
	if (dp_runner_add(sw_runner, p) < 0) {
		dp_switch_detach(p);
		return -1;
	}
	return 0;
}

/* Opens the uplink's port if its interface is present. */
static void uplink_open(struct sw_vswitch *vs, struct sw_uplink *u)
{
	char err[256] = "cannot attach the port";
	int ifindex = (int)if_nametoindex(u->ifname);

	if (!ifindex)
		return;
	set_mtu(vs, u);
	struct dp_port *p = dp_packet_port_new(u->nic, u->ifname, NULL, err, sizeof(err));
	if (!p || uplink_attach(vs, p) < 0) {
		if (p)
			dp_port_destroy(p);
		if (!u->warned)
			vmklog_warn("Uplink", "%s: %s", u->nic, err);
		u->warned = true;
		return;
	}
	u->port = p;
	u->ifindex = ifindex;
	uplink_claim(u);
	u->link_up = p->link_up;
	u->warned = false;
	vmklog("Uplink", "%s (%s) connected to %s, link %s", u->nic, u->ifname, vs->name,
	       u->link_up ? "up" : "down");
}

/* The store's uplinks of the vSwitch, in order: (nic, Linux name). */
static struct sw_uplink *store_uplinks(long long vsid, unsigned *n)
{
	sqlite3_stmt *st = store_stmt("SELECT u.nic, coalesce(n.linux_name, u.nic) FROM uplink u "
				      "LEFT JOIN nic n ON n.name = u.nic WHERE u.vswitch = ? "
				      "ORDER BY u.id", "l", vsid);
	struct sw_uplink *list = NULL;

	*n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct sw_uplink *l = realloc(list, (*n + 1) * sizeof(*l));
		if (!l)
			break;
		list = l;
		list[*n] = (struct sw_uplink){ 0 };
		snprintf(list[*n].nic, sizeof(list[*n].nic), "%s", store_col_text(st, 0));
		snprintf(list[*n].ifname, sizeof(list[*n].ifname), "%s", store_col_text(st, 1));
		(*n)++;
	}
	sqlite3_finalize(st);
	return list;
}

/* Moves the live uplink matching want (same NIC and interface) into it. */
static void take_existing(struct sw_vswitch *vs, struct sw_uplink *want)
{
	for (unsigned i = 0; i < vs->nuplinks; i++) {
		struct sw_uplink *u = &vs->uplinks[i];
		if (strcmp(u->nic, want->nic) || strcmp(u->ifname, want->ifname))
			continue;
		*want = *u;
		u->nic[0] = 0;	/* taken */
		return;
	}
}

void sw_uplinks_reconcile(struct sw_vswitch *vs)
{
	unsigned n;
	struct sw_uplink *want = store_uplinks(vs->id, &n);

	for (unsigned i = 0; i < n; i++)
		take_existing(vs, &want[i]);
	for (unsigned i = 0; i < vs->nuplinks; i++) {
		struct sw_uplink *u = &vs->uplinks[i];
		if (!u->nic[0])
			continue;
		if (u->port)
			vmklog("Uplink", "%s disconnected from %s", u->nic, vs->name);
		uplink_close(u);
	}
	free(vs->uplinks);
	vs->uplinks = want;
	vs->nuplinks = n;
	for (unsigned i = 0; i < n; i++)
		if (!want[i].port)
			uplink_open(vs, &want[i]);
}

void sw_uplinks_close(struct sw_vswitch *vs)
{
	for (unsigned i = 0; i < vs->nuplinks; i++)
		uplink_close(&vs->uplinks[i]);
	free(vs->uplinks);
	vs->uplinks = NULL;
	vs->nuplinks = 0;
}

void sw_uplinks_set_mtu(struct sw_vswitch *vs)
{
	for (unsigned i = 0; i < vs->nuplinks; i++)
		if (vs->uplinks[i].port)
			set_mtu(vs, &vs->uplinks[i]);
}

static void uplink_poll(struct sw_vswitch *vs, struct sw_uplink *u)
{
	int ifindex = (int)if_nametoindex(u->ifname);

	if (u->port && ifindex != u->ifindex) {
		vmklog_warn("Uplink", "%s: interface %s is gone", u->nic, u->ifname);
		uplink_close(u);
	}
	if (!u->port) {
		if (ifindex)
			uplink_open(vs, u);
		return;
	}
	bool up = dp_link_is_up(ctl_fd, u->ifname);
	if (up == u->link_up)
		return;
	u->link_up = up;
	dp_switch_set_link(u->port, up);
	if (up)
		vmklog("Uplink", "%s: link up", u->nic);
	else
		vmklog_warn("Uplink", "%s: link down", u->nic);
}

void sw_uplinks_poll(struct sw_vswitch *vs)
{
	for (unsigned i = 0; i < vs->nuplinks; i++)
		uplink_poll(vs, &vs->uplinks[i]);
}

/* ---- the watch ---- */

static void on_netlink(void *arg, uint32_t events)
{
	char buf[16384];

	(void)arg;
	(void)events;
	for (;;) {
		ssize_t r = recv(nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && errno != ENOBUFS && errno != EINTR)
			break;
	}
	link_cb();
}

static void on_tick(void *arg, uint32_t events)
{
	uint64_t expirations;

	(void)arg;
	(void)events;
	if (read(tick_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	tick_cb();
}

static int open_netlink(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_tick(void)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int sw_watch_start(void (*on_link)(void), void (*on_sec)(void))
{
	link_cb = on_link;
	tick_cb = on_sec;
	ctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	nl_fd = open_netlink();
	tick_fd = open_tick();
	if (ctl_fd < 0 || nl_fd < 0 || tick_fd < 0 ||
	    loop_add(nl_fd, EPOLLIN, on_netlink, NULL) < 0 ||
	    loop_add(tick_fd, EPOLLIN, on_tick, NULL) < 0)
		return -1;
	return 0;
}

static void close_fd(int *fd, bool watched)
{
	if (*fd < 0)
		return;
	if (watched)
		loop_del(*fd);
	close(*fd);
	*fd = -1;
}

void sw_watch_stop(void)
{
	close_fd(&nl_fd, true);
	close_fd(&tick_fd, true);
	close_fd(&ctl_fd, false);
}
