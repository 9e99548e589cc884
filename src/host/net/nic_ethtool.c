/*
 * `esxcli network nic get`: what Linux tells of one NIC through ethtool,
 * in the fields of ESXi's NICInfo struct.
 *
 * Sources, all ioctls on a socket of vmkd's namespace (the namespace the
 * NIC lives in, whatever /sys shows):
 *   ETHTOOL_GLINKSETTINGS  auto-negotiation, link modes, port, PHY address,
 *                          transceiver (the two-step request: the kernel
 *                          first says how many words its masks take)
 *   ETHTOOL_GDRVINFO       Driver Info (bus, driver, firmware, version)
 *   ETHTOOL_GPAUSEPARAM    pause frames
 *   ETHTOOL_GWOL           Wake-on-LAN
 *   ETHTOOL_GMSGLVL        the driver's message level
 *   ETHTOOL_GLINK          the carrier (Link Detected)
 *   ETHTOOL_GPERMADDR      the permanent address (MAC Address); the
 *                          current one is the Virtual Address
 * Name, admin and link state, speed, duplex, MTU and the current MAC come
 * from nic.c's probe, so `nic get` and `nic list` never disagree.
 *
 * A value the device does not report (a veth has no firmware, no
 * permanent address, no pause or Wake-on-LAN) is shown as the reference
 * shows an absent one: "N/A" for a string, 0 for a number, false for a
 * flag, an empty list, and Wakeon "None".
 */
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "nic.h"

/* The kernel's masks are at most SCHAR_MAX words each: supported,
 * advertising and the link partner's. */
union link_settings {
	struct ethtool_link_settings s;
	__u8 buf[sizeof(struct ethtool_link_settings) + 3 * SCHAR_MAX * sizeof(__u32)];
};

static int ethtool(int sock, const char *ifname, void *data)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	return ioctl(sock, SIOCETHTOOL, &ifr);
}

/* The link settings, or false if the device gives none. */
static bool link_settings(int sock, const char *ifname, union link_settings *u)
{
	memset(u, 0, sizeof(*u));
	u->s.cmd = ETHTOOL_GLINKSETTINGS;
	if (ethtool(sock, ifname, u) < 0 || u->s.link_mode_masks_nwords >= 0)
		return false;
	__s8 words = (__s8)-u->s.link_mode_masks_nwords;
	memset(u, 0, sizeof(*u));
	u->s.cmd = ETHTOOL_GLINKSETTINGS;
	u->s.link_mode_masks_nwords = words;
	return ethtool(sock, ifname, u) == 0 && u->s.link_mode_masks_nwords == words;
}

enum mask { SUPPORTED, ADVERTISING };

static bool has_mode(const union link_settings *u, enum mask m, unsigned bit)
{
	unsigned words = (unsigned)u->s.link_mode_masks_nwords;

	if (bit / 32 >= words)
		return false;
	return u->s.link_mode_masks[m * words + bit / 32] & (1u << (bit % 32));
}

#define MODE(speed, kind, duplex) \
	{ ETHTOOL_LINK_MODE_##speed##base##kind##_##duplex##_BIT, #speed "Base" #kind "/" #duplex }

/* By speed, as ESXi lists them. */
static const struct { unsigned bit; const char *name; } modes[] = {
	MODE(10, T, Half), MODE(10, T, Full), MODE(100, T, Half), MODE(100, T, Full),
	MODE(1000, T, Half), MODE(1000, T, Full), MODE(1000, KX, Full), MODE(1000, X, Full),
	MODE(2500, T, Full), MODE(2500, X, Full), MODE(5000, T, Full), MODE(10000, T, Full),
	MODE(10000, KX4, Full), MODE(10000, KR, Full), MODE(10000, CR, Full),
	MODE(10000, SR, Full), MODE(10000, LR, Full), MODE(10000, ER, Full),
	MODE(25000, CR, Full), MODE(25000, KR, Full), MODE(25000, SR, Full),
	MODE(40000, KR4, Full), MODE(40000, CR4, Full), MODE(40000, SR4, Full),
	MODE(40000, LR4, Full), MODE(50000, CR2, Full), MODE(50000, KR2, Full),
	MODE(50000, SR2, Full), MODE(100000, KR4, Full), MODE(100000, SR4, Full),
	MODE(100000, CR4, Full),
};

static const struct { unsigned bit; const char *name; } ports[] = {
	{ ETHTOOL_LINK_MODE_TP_BIT, "TP" }, { ETHTOOL_LINK_MODE_AUI_BIT, "AUI" },
	{ ETHTOOL_LINK_MODE_MII_BIT, "MII" }, { ETHTOOL_LINK_MODE_FIBRE_BIT, "FIBRE" },
	{ ETHTOOL_LINK_MODE_BNC_BIT, "BNC" }, { ETHTOOL_LINK_MODE_Backplane_BIT, "Backplane" },
};

/* "Auto" first when auto-negotiation is advertised, as ESXi shows it. */
static json_t *advertised_modes(const union link_settings *u, bool known)
{
	json_t *list = json_array();

	if (!known)
		return list;
	if (has_mode(u, ADVERTISING, ETHTOOL_LINK_MODE_Autoneg_BIT))
		json_array_append_new(list, json_string("Auto"));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (has_mode(u, ADVERTISING, modes[i].bit))
			json_array_append_new(list, json_string(modes[i].name));
	return list;
}

static json_t *supported_ports(const union link_settings *u, bool known)
{
	json_t *list = json_array();

	for (size_t i = 0; known && i < sizeof(ports) / sizeof(ports[0]); i++)
		if (has_mode(u, SUPPORTED, ports[i].bit))
			json_array_append_new(list, json_string(ports[i].name));
	return list;
}

static const char *cable_type(const union link_settings *u, bool known)
{
	if (!known)
		return "N/A";
	switch (u->s.port) {
	case PORT_TP: return "Twisted Pair";
	case PORT_AUI: return "AUI";
	case PORT_BNC: return "BNC";
	case PORT_MII: return "MII";
	case PORT_FIBRE: return "FIBRE";
	case PORT_DA: return "DA";
	case PORT_NONE: return "None";
	default: return "Other";
	}
}

static const char *transceiver(const union link_settings *u, bool known)
{
	if (!known)
		return "N/A";
	return u->s.transceiver == XCVR_EXTERNAL ? "external" : "internal";
}

static json_t *wakeon(__u32 opts)
{
	static const struct { __u32 bit; const char *name; } wake[] = {
		{ WAKE_PHY, "Phy" }, { WAKE_UCAST, "Unicast" }, { WAKE_MCAST, "Multicast" },
		{ WAKE_BCAST, "Broadcast" }, { WAKE_ARP, "Arp" },
		{ WAKE_MAGIC, "MagicPacket(tm)" }, { WAKE_MAGICSECURE, "SecureOn" },
	};
	json_t *list = json_array();

	for (size_t i = 0; i < sizeof(wake) / sizeof(wake[0]); i++)
		if (opts & wake[i].bit)
			json_array_append_new(list, json_string(wake[i].name));
	if (!json_array_size(list))
		json_array_append_new(list, json_string("None"));
	return list;
}

static const char *or_na(const char *s)
{
	return s[0] ? s : "N/A";
}

static json_t *driver_info(int sock, const char *ifname)
{
	struct ethtool_drvinfo d = { .cmd = ETHTOOL_GDRVINFO };

	if (ethtool(sock, ifname, &d) < 0)
		memset(&d, 0, sizeof(d));
	return json_pack("{s:s, s:s, s:s, s:s}", "BusInfo", or_na(d.bus_info),
			 "Driver", or_na(d.driver), "FirmwareVersion", or_na(d.fw_version),
			 "Version", or_na(d.version));
}

/* The permanent address into buf, or "N/A" where the device has none
 * (veth, tap: all zeros). */
static void perm_addr(int sock, const char *ifname, char *buf, size_t len)
{
	union {
		struct ethtool_perm_addr p;
		__u8 buf[sizeof(struct ethtool_perm_addr) + 32];
	} u = { .p = { .cmd = ETHTOOL_GPERMADDR, .size = 32 } };
	const __u8 *m = u.p.data;

	snprintf(buf, len, "N/A");
	if (ethtool(sock, ifname, &u) < 0 || u.p.size != 6 ||
	    !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return;
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static bool link_detected(int sock, const struct nic_info *n)
{
	struct ethtool_value v = { .cmd = ETHTOOL_GLINK };

	return ethtool(sock, n->linux_name, &v) == 0 ? v.data != 0 : n->link_up;
}

static bool supports_pause(const union link_settings *u, bool known)
{
	return known && (has_mode(u, SUPPORTED, ETHTOOL_LINK_MODE_Pause_BIT) ||
			 has_mode(u, SUPPORTED, ETHTOOL_LINK_MODE_Asym_Pause_BIT));
}

/* The flags of the link settings, false where the device gives none. */
static json_t *autoneg_fields(json_t *o, const union link_settings *u, bool known)
{
	json_object_set_new(o, "AdvertisedAutoNegotiation", json_boolean(
		known && has_mode(u, ADVERTISING, ETHTOOL_LINK_MODE_Autoneg_BIT)));
	json_object_set_new(o, "AutoNegotiation",
			    json_boolean(known && u->s.autoneg == AUTONEG_ENABLE));
	json_object_set_new(o, "SupportsAutoNegotiation", json_boolean(
		known && has_mode(u, SUPPORTED, ETHTOOL_LINK_MODE_Autoneg_BIT)));
	json_object_set_new(o, "SupportsPause", json_boolean(supports_pause(u, known)));
	return o;
}

/* Pause frames and Wake-on-LAN, which many virtual devices do not report. */
static json_t *pause_wol_fields(json_t *o, int sock, const char *ifname)
{
	struct ethtool_pauseparam p = { .cmd = ETHTOOL_GPAUSEPARAM };
	struct ethtool_wolinfo w = { .cmd = ETHTOOL_GWOL };

	if (ethtool(sock, ifname, &p) < 0)
		memset(&p, 0, sizeof(p));
	if (ethtool(sock, ifname, &w) < 0)
		memset(&w, 0, sizeof(w));
	json_object_set_new(o, "PauseAutonegotiate", json_boolean(p.autoneg));
	json_object_set_new(o, "PauseRX", json_boolean(p.rx_pause));
	json_object_set_new(o, "PauseTX", json_boolean(p.tx_pause));
	json_object_set_new(o, "SupportsWakeon", json_boolean(w.supported));
	json_object_set_new(o, "Wakeon", wakeon(w.wolopts));
	return o;
}

/* Key order does not matter: the formatters follow the declared fields. */
json_t *nic_details_json(int sock, const struct nic_info *n)
{
	union link_settings u;
	struct ethtool_value msg = { .cmd = ETHTOOL_GMSGLVL };
	char mac[18];
	bool known = link_settings(sock, n->linux_name, &u);

	if (ethtool(sock, n->linux_name, &msg) < 0)
		msg.data = 0;
	perm_addr(sock, n->linux_name, mac, sizeof(mac));
	json_t *o = json_pack(
		"{s:s, s:o, s:s, s:I, s:o, s:s, s:b, s:s, s:s, s:I, s:s, s:I, s:I, s:o, s:s, s:s}",
		"AdminStatus", n->admin_up ? "Up" : "Down",
		"AdvertisedLinkModes", advertised_modes(&u, known),
		"CableType", cable_type(&u, known),
		"CurrentMessageLevel", (json_int_t)msg.data,
		"DriverInfo", driver_info(sock, n->linux_name),
		"Duplex", n->link_up && n->full_duplex ? "Full" : "Half",
		"LinkDetected", link_detected(sock, n),
		"LinkStatus", n->link_up ? "Up" : "Down",
		"MACAddress", mac,
		"MTU", (json_int_t)n->mtu,
		"Name", n->name,
		"PHYAddress", (json_int_t)(known ? u.s.phy_address : 0),
		"Speed", (json_int_t)(n->link_up ? n->speed : 0),
		"SupportedPorts", supported_ports(&u, known),
		"Transceiver", transceiver(&u, known),
		"VirtualAddress", n->mac);
	return o ? pause_wol_fields(autoneg_fields(o, &u, known), sock, n->linux_name) : NULL;
}
