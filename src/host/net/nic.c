/*
 * The host's NICs: `esxcli network nic list`, and the check that an
 * uplink names a NIC.
 *
 * A NIC is any Ethernet interface of the network namespace vmkd runs in
 * (defaultTcpipStack's), other than loopback and vmk's own devices (the
 * VMkernel adapters' TAPs, vmkN, and anything named vmk-*).  They are
 * read with if_nameindex() and ioctls on a socket of this namespace
 * (SIOCGIF*, ETHTOOL_GDRVINFO, ETHTOOL_GSET), so the answer follows the
 * namespace even where /sys is another's.
 *
 * Link state is the datapath's (dp_link_is_up): up with its carrier, so
 * `nic list` and the vSwitch's failover see the same link.
 *
 * `nic get` (nic_ethtool.c), `nic stats get` (nic_stats.c) and
 * `nic down|up` name a NIC by its vmnicN name only, resolved here
 * (nic_lookup): an arbitrary Linux interface is never touched.  Down and
 * up set the interface's IFF_UP; the datapath hears of it through
 * rtnetlink as of any link change and fails over.  The admin state is the
 * kernel's, not stored: vmkd never sets it otherwise, so it stays as it
 * is across a vmkd restart.
 *
 * Names: an interface called vmnicN keeps that name.  Any other gets an
 * alias, the lowest vmnicN that is neither a present interface's name
 * nor an alias already given, and keeps it for good: aliases live in the
 * store's nic table, also while the interface is absent, so uplinks that
 * name it stay right across restarts.  Should an interface named vmnicN
 * appear later while that name is another interface's alias, the real
 * name wins and the aliased interface gets a new alias (logged).
 */
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "datapath.h"
#include "model.h"
#include "nic.h"
#include "store.h"
#include "vmklog.h"

static bool vmnic_number(const char *name, long *num)
{
	char *end;

	if (strncmp(name, "vmnic", 5) != 0 || name[5] < '0' || name[5] > '9')
		return false;
	long n = strtol(name + 5, &end, 10);
	if (*end)
		return false;
	if (num)
		*num = n;
	return true;
}

static bool own_device(const char *name)
{
	if (strcmp(name, "lo") == 0 || strncmp(name, "vmk-", 4) == 0)
		return true;
	if (strncmp(name, "vmk", 3) != 0 || !name[3])
		return false;
	return strspn(name + 3, "0123456789") == strlen(name + 3);
}

static int ifioctl(int sock, const char *ifname, unsigned long req, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	return ioctl(sock, req, ifr);
}

static void probe_ethtool(int sock, struct nic_info *n)
{
	struct ethtool_drvinfo drv = { .cmd = ETHTOOL_GDRVINFO };
	struct ethtool_cmd ecmd = { .cmd = ETHTOOL_GSET };
	struct ifreq ifr;

	snprintf(n->pci, sizeof(n->pci), "N/A");
	ifioctl(sock, n->linux_name, 0, &ifr);
	ifr.ifr_data = (char *)&drv;
	if (ioctl(sock, SIOCETHTOOL, &ifr) == 0) {
		snprintf(n->driver, sizeof(n->driver), "%s", drv.driver);
		if (strchr(drv.bus_info, ':'))
			snprintf(n->pci, sizeof(n->pci), "%s", drv.bus_info);
	}
	ifr.ifr_data = (char *)&ecmd;
	if (n->link_up && ioctl(sock, SIOCETHTOOL, &ifr) == 0) {
		__u32 speed = ethtool_cmd_speed(&ecmd);
		n->speed = (speed == (__u32)SPEED_UNKNOWN) ? 0 : (long)speed;
		n->full_duplex = ecmd.duplex == DUPLEX_FULL;
	}
}

/* Fills n for interface name; -1 if it is not an Ethernet NIC. */
static int probe(int sock, const char *name, struct nic_info *n)
{
	struct ifreq ifr;
	unsigned char *m;

	memset(n, 0, sizeof(*n));
	snprintf(n->linux_name, sizeof(n->linux_name), "%s", name);
	if (ifioctl(sock, name, SIOCGIFHWADDR, &ifr) < 0 ||
	    ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return -1;
	m = (unsigned char *)ifr.ifr_hwaddr.sa_data;
	snprintf(n->mac, sizeof(n->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		 m[4], m[5]);
	if (ifioctl(sock, name, SIOCGIFFLAGS, &ifr) == 0)
		n->admin_up = ifr.ifr_flags & IFF_UP;
	n->link_up = dp_link_is_up(sock, name);
	if (ifioctl(sock, name, SIOCGIFMTU, &ifr) == 0)
		n->mtu = ifr.ifr_mtu;
	probe_ethtool(sock, n);
	return 0;
}

static bool real_name_present(struct nic_info *nics, int count, const char *name)
{
	for (int i = 0; i < count; i++)
		if (strcmp(nics[i].linux_name, name) == 0 && vmnic_number(name, NULL))
			return true;
	return false;
}

static int new_alias(struct nic_info *nics, int count, struct nic_info *n)
{
	char name[32];

	for (long i = 0;; i++) {
		snprintf(name, sizeof(name), "vmnic%ld", i);
		if (!real_name_present(nics, count, name) &&
		    !store_int(0, "SELECT count(*) FROM nic WHERE name = ?", "s", name))
			break;
	}
	if (store_exec("INSERT INTO nic(name, linux_name) VALUES (?, ?)", "ss", name,
		       n->linux_name))
		return -1;
	snprintf(n->name, sizeof(n->name), "%s", name);
	vmklog("Uplink", "Linux interface %s is %s", n->linux_name, name);
	return 0;
}

static int assign_name(struct nic_info *nics, int count, struct nic_info *n)
{
	char alias[32];

	if (vmnic_number(n->linux_name, NULL)) {
		snprintf(n->name, sizeof(n->name), "%s", n->linux_name);
		return 0;
	}
	if (store_text(alias, sizeof(alias), "SELECT name FROM nic WHERE linux_name = ?", "s",
		       n->linux_name)) {
		if (!real_name_present(nics, count, alias)) {
			snprintf(n->name, sizeof(n->name), "%s", alias);
			return 0;
		}
		vmklog_warn("Uplink", "%s, the alias of Linux interface %s, is now the name of "
			    "another interface; giving %s a new alias", alias, n->linux_name,
			    n->linux_name);
		if (store_exec("DELETE FROM nic WHERE linux_name = ?", "s", n->linux_name))
			return -1;
	}
	return new_alias(nics, count, n);
}

static int by_number(const void *a, const void *b)
{
	long x = 0, y = 0;

	vmnic_number(((const struct nic_info *)a)->name, &x);
	vmnic_number(((const struct nic_info *)b)->name, &y);
	return (x > y) - (x < y);
}

int nic_scan(struct nic_info **out)
{
	struct if_nameindex *idx = if_nameindex();
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), count = 0, total = 0;

	if (!idx || sock < 0)
		goto fail;
	while (idx[total].if_name)
		total++;
	*out = calloc((size_t)total + 1, sizeof(**out));
	if (!*out)
		goto fail;
	for (int i = 0; i < total; i++)
		if (!own_device(idx[i].if_name) && probe(sock, idx[i].if_name, &(*out)[count]) == 0)
			count++;
	for (int i = 0; i < count; i++)
		if (assign_name(*out, count, &(*out)[i]) < 0) {
			free(*out);
			goto fail;
		}
	qsort(*out, (size_t)count, sizeof(**out), by_number);
	if_freenameindex(idx);
	close(sock);
	return count;
fail:
	if (idx)
		if_freenameindex(idx);
	if (sock >= 0)
		close(sock);
	return -1;
}

bool nic_present(const char *name)
{
	struct nic_info *nics;
	int n = nic_scan(&nics);
	bool found = false;

	for (int i = 0; i < n && !found; i++)
		found = strcmp(nics[i].name, name) == 0;
	if (n >= 0)
		free(nics);
	return found;
}

static json_t *nic_json(const struct nic_info *n)
{
	char desc[96];

	snprintf(desc, sizeof(desc), "Linux network interface, driver %s",
		 n->driver[0] ? n->driver : "unknown");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:s}",
			 "Name", n->name, "LinuxName", n->linux_name, "PCIDevice", n->pci,
			 "Driver", n->driver[0] ? n->driver : "N/A",
			 "AdminStatus", n->admin_up ? "Up" : "Down",
			 "LinkStatus", n->link_up ? "Up" : "Down",
			 "Speed", (json_int_t)(n->link_up ? n->speed : 0),
			 "Duplex", n->link_up && n->full_duplex ? "Full" : "Half",
			 "MACAddress", n->mac, "MTU", (json_int_t)n->mtu, "Description", desc);
}

static json_t *nic_list(json_t *params)
{
	struct nic_info *nics;
	int n = nic_scan(&nics);

	(void)params;
	if (n < 0)
		return api_refused("Cannot read the network interfaces: %s", strerror(errno));
	json_t *list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, nic_json(&nics[i]));
	free(nics);
	return list;
}

int nic_lookup(const char *name, struct nic_info *out)
{
	struct nic_info *nics;
	int n = nic_scan(&nics), i;

	if (n < 0) {
		api_refused("Cannot read the network interfaces: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n && strcmp(nics[i].name, name) != 0; i++)
		;
	if (i < n)
		*out = nics[i];
	free(nics);
	if (i < n)
		return 0;
	api_invalid("Invalid --nic-name '%s': no such NIC (see esxcli network nic list)", name);
	return -1;
}

static json_t *nic_get(json_t *params)
{
	struct nic_info n;

	if (nic_lookup(param_str(params, "nic-name"), &n) < 0)
		return NULL;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return api_refused("Cannot read %s: %s", n.name, strerror(errno));
	json_t *o = nic_details_json(sock, &n);
	close(sock);
	return o;
}

static json_t *nic_stats_get(json_t *params)
{
	struct nic_info n;

	if (nic_lookup(param_str(params, "nic-name"), &n) < 0)
		return NULL;
	return nic_stats_json(&n);
}

/* Sets IFF_UP of the NIC's interface; a NIC already in that state is
 * left alone, and logged only when it changes. */
static json_t *set_admin(json_t *params, bool up)
{
	struct nic_info n;
	struct ifreq ifr;
	int sock, rc = -1;

	if (nic_lookup(param_str(params, "nic-name"), &n) < 0)
		return NULL;
	if (n.admin_up == up)
		return json_true();
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock >= 0 && ifioctl(sock, n.linux_name, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
		rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
	}
	int err = errno;
	if (sock >= 0)
		close(sock);
	if (rc < 0)
		return api_refused("Cannot bring %s (%s) %s: %s", n.name, n.linux_name,
				   up ? "up" : "down", strerror(err));
	if (up)
		vmklog("Uplink", "%s (%s): brought up (esxcli network nic up)", n.name,
		       n.linux_name);
	else
		vmklog_warn("Uplink", "%s (%s): brought down (esxcli network nic down)", n.name,
			    n.linux_name);
	return json_true();
}

static json_t *nic_down(json_t *params)
{
	return set_admin(params, false);
}

static json_t *nic_up(json_t *params)
{
	return set_admin(params, true);
}

static const struct api_method methods[] = {
	{ "network.nic.list", nic_list },
	{ "network.nic.get", nic_get },
	{ "network.nic.down", nic_down },
	{ "network.nic.up", nic_up },
	{ "network.nic.stats.get", nic_stats_get },
	{ 0 }
};

void nic_register(void)
{
	api_register(methods);
}
