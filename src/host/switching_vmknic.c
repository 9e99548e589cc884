/*
 * VMkernel adapters' ports: switching_attach_vmknic/detach (switching.h).
 *
 * The adapter's TAP fd belongs to the caller (vmknic code), which closes
 * it after detaching; the port reads and writes the same fd and is
 * destroyed with its fd field reset to -1, so destroying the port never
 * closes it (and a thousand adapters cost no extra fd).  The TAP was made
 * with a 12-byte virtio_net_hdr_v1 (VMKNIC_VNET_HDR_LEN, vmknic_tap.h),
 * the size the datapath's TAP port reads and writes (DP_TAP_VNET_HDR_LEN;
 * asserted below): attaching leaves the device as it is, and the port
 * refuses a TAP whose size differs.
 *
 * MAC changes: the port's initial MAC is the adapter's configured one;
 * its effective MAC is the TAP's current one, read once a second and told
 * to the switch when it changes, so the MAC-address-changes policy applies
 * when someone sets another address inside the stack.  The TAP lives in
 * its stack's namespace, where its name means something: the MAC is read
 * with an ioctl on a socket made in that namespace (found with
 * TUNGETDEVNETNS on the fd), one socket per namespace, shared.
 *
 * Multicast: each adapter's port has a multicast filter (the switch's
 * basic multicast filtering, datapath/mcast.c), so that a multicast frame
 * reaches only the adapters whose stack joined its group: the groups the
 * adapter's configuration makes the kernel join, set at once (attach, and
 * switching_vmknic_ipv6 after every change of its addresses), and those
 * the kernel shows in the namespace's /proc/net/dev_mcast, read once a
 * second with the MAC (switching_mcast.c).  An adapter in promiscuous or
 * all-multicast mode, or whose groups cannot be read, is not filtered.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns.h"
#include "net/vmknic_tap.h"
#include "switching.h"
#include "switching_internal.h"
#include "vmklog.h"

struct nsock {
	dev_t dev;
	ino_t ino;
	int fd;
	int mcfd;			/* its /proc/net/dev_mcast; -1: not filtered */
	struct sw_mc_table mc;		/* what mcfd said at the last poll */
	bool mc_ok;
	unsigned refs;
};

struct sw_vmknic {
	char name[DP_NAME_MAX];
	char ifname[IF_NAMESIZE];	/* the TAP's name in its stack */
	struct sw_vswitch *vs;
	struct dp_port *port;
	struct nsock *ns;		/* NULL: the MAC is not followed */
	uint8_t mac[6];			/* effective MAC last told to the switch */
	uint8_t initial_mac[6];		/* the configured one */
	struct sw_mc_set want;		/* groups its configuration joins */
	struct sw_mc_set kern;		/* groups the kernel showed last */
	struct sw_mc_set applied;	/* the port's filter */
	bool all_multi;			/* promiscuous or all-multicast: no filter */
	bool filtered;			/* applied is the port's filter */
};

static struct sw_vmknic **vmknics;
static unsigned nvmknics;
static struct nsock **nsocks;
static unsigned nnsocks;

static void mac_text(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- one datagram socket per stack namespace ---- */

static struct nsock *nsock_new(int nsfd, const struct stat *st)
{
	struct nsock **l = realloc(nsocks, (nnsocks + 1) * sizeof(*l));
	struct nsock *s = calloc(1, sizeof(*s));

	if (l)
		nsocks = l;
	if (!l || !s) {
		free(s);
		return NULL;
	}
	s->fd = netns_socket(nsfd, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		free(s);
		return NULL;
	}
	s->mcfd = sw_mc_open(nsfd);
	if (s->mcfd < 0)
		vmklog_warn("Net", "cannot read the multicast groups of a netstack (%s): its "
			    "adapters get every multicast frame", strerror(-s->mcfd));
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	nsocks[nnsocks++] = s;
	return s;
}

/* The socket of the namespace the TAP is in, or NULL. */
static struct nsock *nsock_get(int tap_fd)
{
	int nsfd = ioctl(tap_fd, TUNGETDEVNETNS);
	struct stat st;
	struct nsock *s = NULL;

	if (nsfd < 0)
		return NULL;
	if (fstat(nsfd, &st) == 0) {
		for (unsigned i = 0; i < nnsocks && !s; i++)
			if (nsocks[i]->dev == st.st_dev && nsocks[i]->ino == st.st_ino)
				s = nsocks[i];
		if (!s)
			s = nsock_new(nsfd, &st);
	}
	close(nsfd);
	if (s)
		s->refs++;
	return s;
}

static void nsock_put(struct nsock *s)
{
	if (!s || --s->refs)
		return;
	for (unsigned i = 0; i < nnsocks; i++)
		if (nsocks[i] == s)
			nsocks[i] = nsocks[--nnsocks];
	close(s->fd);
	if (s->mcfd >= 0)
		close(s->mcfd);
	sw_mc_table_free(&s->mc);
	free(s);
}

/* Re-reads the namespace's multicast groups. */
static void nsock_read_groups(struct nsock *s)
{
	s->mc_ok = s->mcfd >= 0 && sw_mc_read(s->mcfd, &s->mc) == 0;
}

static int read_mac(const struct sw_vmknic *k, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", k->ifname);
	if (!k->ns || ioctl(k->ns->fd, SIOCGIFHWADDR, &ifr) < 0)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* ---- the multicast filter ---- */

static int filter_set(struct sw_vmknic *k, const struct sw_mc_set *s)
{
	uint8_t (*macs)[6] = s ? calloc(s->n ? s->n : 1, sizeof(*macs)) : NULL;

	if (s && !macs)
		return -ENOMEM;
	for (unsigned i = 0; s && i < s->n; i++)
		for (int b = 0; b < 6; b++)
			macs[i][b] = (uint8_t)(s->key[i] >> (40 - 8 * b));
	int rc = dp_port_set_mcast_filter(k->port, (const uint8_t (*)[6])macs, s ? s->n : 0);
	free(macs);
	return rc;
}

/* Gives the port the filter want + kern, or none, if that changed. */
static void filter_apply(struct sw_vmknic *k)
{
	struct sw_mc_set u = { 0 };
	bool all = k->all_multi || !k->ns || k->ns->mcfd < 0;
	int rc = 0;

	for (unsigned i = 0; !all && rc == 0 && i < k->want.n; i++)
		rc = sw_mc_set_add(&u, k->want.key[i]);
	for (unsigned i = 0; !all && rc == 0 && i < k->kern.n; i++)
		rc = sw_mc_set_add(&u, k->kern.key[i]);
	all |= rc < 0;
	sw_mc_set_normalize(&u);
	if (all && k->filtered && filter_set(k, NULL) == 0) {
		k->filtered = false;
		sw_mc_set_clear(&k->applied);
	} else if (!all && (!k->filtered || !sw_mc_set_equal(&u, &k->applied)) &&
		   filter_set(k, &u) == 0) {
		sw_mc_set_free(&k->applied);
		k->applied = u;
		k->filtered = true;
		return;
	}
	sw_mc_set_free(&u);
}

/* Follows the kernel: the device's flags and groups as the last read of
 * its namespace's dev_mcast shows them. */
static void filter_poll(struct sw_vmknic *k)
{
	struct ifreq ifr = { 0 };

	if (!k->ns)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", k->ifname);
	if (ioctl(k->ns->fd, SIOCGIFFLAGS, &ifr) == 0)
		k->all_multi = ifr.ifr_flags & (IFF_PROMISC | IFF_ALLMULTI);
	if (!k->ns->mc_ok || sw_mc_lookup(&k->ns->mc, k->ifname, &k->kern) < 0)
		k->all_multi = true;
	filter_apply(k);
}

void switching_vmknic_ipv6(const char *vmknic, const struct in6_addr *addrs, unsigned n)
{
	for (unsigned i = 0; i < nvmknics; i++) {
		struct sw_vmknic *k = vmknics[i];
		if (strcmp(k->name, vmknic) != 0)
			continue;
		sw_mc_expected(&k->want, k->initial_mac, addrs, n);
		filter_apply(k);
		return;
	}
}

/* ---- attach and detach ---- */

static void port_release(struct dp_port *p)
{
	dp_runner_del(sw_runner, p);
	dp_switch_detach(p);
	p->fd = -1;	/* the caller's */
	dp_port_destroy(p);
}

static void vmknic_free(struct sw_vmknic *k)
{
	sw_log_port_stats(k->port);
	port_release(k->port);
	nsock_put(k->ns);
	sw_mc_set_free(&k->want);
	sw_mc_set_free(&k->kern);
	sw_mc_set_free(&k->applied);
	free(k);
}

static int vmknic_add(struct sw_vmknic *k)
{
	struct sw_vmknic **l = realloc(vmknics, (nvmknics + 1) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	vmknics = l;
	vmknics[nvmknics++] = k;
	return 0;
}

/* Points the port at the TAP's current MAC if someone changed it. */
static void follow_mac(struct sw_vmknic *k)
{
	uint8_t mac[6];
	char text[18];

	if (read_mac(k, mac) < 0 || memcmp(mac, k->mac, 6) == 0)
		return;
	if (dp_port_set_effective_mac(k->port, mac) < 0)
		return;
	memcpy(k->mac, mac, 6);
	mac_text(mac, text);
	vmklog("Net", "%s: the adapter's stack set MAC address %s", k->name, text);
}

_Static_assert(VMKNIC_VNET_HDR_LEN == DP_TAP_VNET_HDR_LEN,
	       "vmknic TAPs and the datapath's TAP port use one vnet header size");

static void tap_setup(struct sw_vmknic *k, int tap_fd)
{
	struct ifreq ifr = { 0 };

	if (ioctl(tap_fd, TUNGETIFF, &ifr) < 0)
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", IF_NAMESIZE - 1, k->name);
	memcpy(k->ifname, ifr.ifr_name, sizeof(k->ifname));
	k->ns = nsock_get(tap_fd);
}

static int plug(struct sw_vmknic *k, struct sw_pg *pg, int tap_fd, const uint8_t mac[6])
{
	struct dp_port *p = dp_tap_port_new(k->name, tap_fd);
	int rc;

	if (!p)		/* EPROTO: the TAP's vnet header size is not ours */
		return errno == EPROTO ? -EPROTO : -ENOMEM;
	if ((rc = dp_switch_attach(k->vs->dp, p, pg->key, mac)) < 0) {
		p->fd = -1;
		dp_port_destroy(p);
		return rc;
	}
	if ((rc = dp_runner_add(sw_runner, p)) < 0) {
		port_release(p);
		return rc;
	}
	k->port = p;
	return 0;
}

int switching_attach_vmknic(const char *vmknic, const char *portgroup, int tap_fd,
			    const uint8_t mac[6])
{
	struct sw_vswitch *vs = NULL;
	struct sw_pg *pg = sw_pg_by_name(portgroup, &vs);
	struct sw_vmknic *k = NULL;
	int rc = -ENOENT;

	if (!pg || !sw_runner)
		goto fail;
	rc = -EINVAL;
	if (!vmknic || tap_fd < 0 || !mac)
		goto fail;
	rc = -ENOMEM;
	if (!(k = calloc(1, sizeof(*k))))
		goto fail;
	switching_detach_vmknic(vmknic);
	snprintf(k->name, sizeof(k->name), "%s", vmknic);
	k->vs = vs;
	memcpy(k->mac, mac, 6);
	memcpy(k->initial_mac, mac, 6);
	tap_setup(k, tap_fd);
	if ((rc = plug(k, pg, tap_fd, mac)) < 0 || (rc = vmknic_add(k)) < 0)
		goto fail;
	follow_mac(k);
	sw_mc_expected(&k->want, mac, NULL, 0);
	filter_apply(k);
	if (pg->notify)
		dp_port_announce(k->port);
	vmklog("Net", "%s connected to port group '%s' on %s", k->name, pg->name, vs->name);
	return 0;
fail:
	vmklog_warn("Net", "cannot connect %s to port group '%s': %s", vmknic ? vmknic : "",
		    portgroup ? portgroup : "",
		    rc == -ENOENT ? "no such port group in the datapath" : strerror(-rc));
	if (k && k->port)
		port_release(k->port);
	if (k)
		nsock_put(k->ns);
	free(k);
	return -1;
}

static void drop_at(unsigned i)
{
	struct sw_vmknic *k = vmknics[i];

	memmove(&vmknics[i], &vmknics[i + 1], (nvmknics - i - 1) * sizeof(*vmknics));
	nvmknics--;
	vmknic_free(k);
}

void switching_detach_vmknic(const char *vmknic)
{
	for (unsigned i = 0; i < nvmknics; i++) {
		if (strcmp(vmknics[i]->name, vmknic) != 0)
			continue;
		vmklog("Net", "%s disconnected from %s", vmknic, vmknics[i]->vs->name);
		drop_at(i);
		return;
	}
}

void sw_vmknics_drop_vswitch(const struct sw_vswitch *vs)
{
	for (unsigned i = nvmknics; i-- > 0;) {
		if (vmknics[i]->vs != vs)
			continue;
		vmklog_warn("Net", "%s disconnected: %s is gone", vmknics[i]->name, vs->name);
		drop_at(i);
	}
}

void sw_vmknics_poll(void)
{
	for (unsigned i = 0; i < nnsocks; i++)
		nsock_read_groups(nsocks[i]);
	for (unsigned i = 0; i < nvmknics; i++) {
		follow_mac(vmknics[i]);
		filter_poll(vmknics[i]);
	}
}

void sw_vmknics_stop(void)
{
	while (nvmknics)
		drop_at(nvmknics - 1);
	free(vmknics);
	vmknics = NULL;
}
