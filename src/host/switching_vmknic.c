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

#include "net/netns.h"
#include "net/vmknic_tap.h"
#include "switching.h"
#include "switching_internal.h"
#include "vmklog.h"

struct nsock {
	dev_t dev;
	ino_t ino;
	int fd;
	unsigned refs;
};

struct sw_vmknic {
	char name[DP_NAME_MAX];
	char ifname[IF_NAMESIZE];	/* the TAP's name in its stack */
	struct sw_vswitch *vs;
	struct dp_port *port;
	struct nsock *ns;		/* NULL: the MAC is not followed */
	uint8_t mac[6];			/* effective MAC last told to the switch */
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
	free(s);
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
	tap_setup(k, tap_fd);
	if ((rc = plug(k, pg, tap_fd, mac)) < 0 || (rc = vmknic_add(k)) < 0)
		goto fail;
	follow_mac(k);
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
	for (unsigned i = 0; i < nvmknics; i++)
		follow_mac(vmknics[i]);
}

void sw_vmknics_stop(void)
{
	while (nvmknics)
		drop_at(nvmknics - 1);
	free(vmknics);
	vmknics = NULL;
}
