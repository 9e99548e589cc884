/*
 * First-start defaults, as a freshly installed reference host has them:
 *
 *   vSwitch0 (128 ports, MTU 1500, the default policies)
 *     port groups "Management Network" and "VM Network", VLAN 0
 *   defaultTcpipStack
 *   vmk0 on "Management Network", tagged Management, MAC 00:50:56:6x:..,
 *     IPv4 from --mgmt-ip or none
 *   host name: the machine's for the default instance, else the instance
 *     name ('_' read as '-'), with no domain
 *
 * No uplink is added: vmnic0 of a real host would be the machine's own
 * interface here, which vmk never takes over by itself.
 */
#include "defaults.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macaddr.h"
#include "store.h"
#include "system.h"
#include "vmklog.h"

int defaults_parse_mgmt_ip(const char *arg, struct mgmt_ip *out)
{
	char addr[32];
	struct in_addr a;
	const char *slash = strchr(arg, '/');
	char *end;

	if (!slash || (size_t)(slash - arg) >= sizeof(addr))
		return -1;
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - arg), arg);
	long prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &a) != 1 || *end || end == slash + 1 || prefix < 0 ||
	    prefix > 32)
		return -1;
	struct in_addr mask = { htonl(prefix ? ~0u << (32 - prefix) : 0) };
	inet_ntop(AF_INET, &a, out->address, sizeof(out->address));
	inet_ntop(AF_INET, &mask, out->netmask, sizeof(out->netmask));
	out->set = true;
	return 0;
}

static void default_host_name(const struct instance *in, char *buf, size_t len)
{
	if (strcmp(in->name, "default") != 0 || gethostname(buf, len) < 0)
		snprintf(buf, len, "%s", in->name);
	buf[len - 1] = '\0';
	buf[strcspn(buf, ".")] = '\0';
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = '-';
	if (!system_hostname_ok(buf))
		snprintf(buf, len, "localhost");
}

static int create_vmk0(const struct mgmt_ip *ip)
{
	char mac[MAC_STR_LEN];

	if (macaddr_generate_vmk(mac) < 0)
		return -1;
	if (store_exec("INSERT INTO vmknic(name, portgroup, netstack, mac, ipv4_type, "
		       "ipv4_address, ipv4_netmask, tags) VALUES ('vmk0', "
		       "(SELECT id FROM portgroup WHERE name = 'Management Network'), "
		       "(SELECT id FROM netstack WHERE name = 'defaultTcpipStack'), ?, ?, ?, ?, "
		       "'Management')", "ssss", mac, ip->set ? "STATIC" : "NONE",
		       ip->set ? ip->address : "", ip->set ? ip->netmask : ""))
		return -1;
	vmklog("Vmknic", "vmk0 created on 'Management Network' with MAC %s, IPv4 %s%s%s", mac,
	       ip->set ? ip->address : "none", ip->set ? " netmask " : "",
	       ip->set ? ip->netmask : "");
	return 0;
}

int defaults_create(const struct instance *in, const struct mgmt_ip *ip)
{
	char host[64];

	default_host_name(in, host, sizeof(host));
	if (store_exec("INSERT INTO meta VALUES ('host_name', ?), ('domain_name', '')", "s",
		       host) ||
	    store_exec("INSERT INTO netstack(name) VALUES ('defaultTcpipStack')", "") ||
	    store_exec("INSERT INTO vswitch(name) VALUES ('vSwitch0')", "") ||
	    store_exec("INSERT INTO portgroup(name, vswitch) VALUES ('Management Network', "
		       "(SELECT id FROM vswitch WHERE name = 'vSwitch0')), ('VM Network', "
		       "(SELECT id FROM vswitch WHERE name = 'vSwitch0'))", ""))
		return -1;
	vmklog("Config", "new host '%s': vSwitch0 with port groups 'Management Network' and "
	       "'VM Network', defaultTcpipStack", host);
	return create_vmk0(ip);
}
