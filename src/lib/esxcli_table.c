/*
 * The esxcli command tree that vmk implements: every namespace and
 * command with its options and output fields.  esxcli and vmkd both read
 * this table (cmdtable.h); adding a command here gives it parsing,
 * `--help`, validation and all formatters, and vmkd needs only the
 * handler for its method.
 *
 * Option names, short letters, types and output field names follow the
 * reference's esxcli (shared/reference/esxcli.md, sections 5 and 7).
 * Where the reference is silent (ranges of ports, lengths of names,
 * short letters of `system hostname set`) the choice is ours and
 * docs/esxcli.md says so.
 */
#include "cmdtable.h"

#define END { 0 }
#define REQ CMD_REQUIRED
#define RANGE(lo, hi) CMD_RANGE, (lo), (hi)

/* ---- namespaces ---- */

static const struct cmd_ns namespaces[] = {
	{ "network", "Operations on the host's networking: virtual switches and NICs." },
	{ "network nic", "Operations on the host's physical network adapters (NICs)." },
	{ "network vswitch", "Operations on the host's virtual switches." },
	{ "network vswitch standard",
	  "Commands to list, create, change and remove standard virtual switches." },
	{ "network vswitch standard policy",
	  "Policies of a standard virtual switch, inherited by its port groups." },
	{ "network vswitch standard policy failover",
	  "NIC teaming and failover policy of a virtual switch." },
	{ "network vswitch standard policy security",
	  "Layer 2 security policy of a virtual switch." },
	{ "network vswitch standard policy shaping",
	  "Outbound traffic shaping policy of a virtual switch." },
	{ "network vswitch standard portgroup",
	  "Commands to list, add, change and remove port groups of standard virtual switches." },
	{ "network vswitch standard portgroup policy",
	  "Policies of a port group: each setting overrides the virtual switch's or inherits it." },
	{ "network vswitch standard portgroup policy failover",
	  "NIC teaming and failover policy of a port group." },
	{ "network vswitch standard portgroup policy security",
	  "Layer 2 security policy of a port group." },
	{ "network vswitch standard portgroup policy shaping",
	  "Outbound traffic shaping policy of a port group." },
	{ "network vswitch standard uplink",
	  "Commands to add physical NICs to a standard virtual switch as uplinks, and remove them." },
	{ "system", "Operations on the host system: name, version, statistics." },
	{ "system hostname", "The host name, domain name and fully qualified domain name of the host." },
	{ "system stats", "Statistics of the host system." },
	{ "system stats uptime", "How long the host has been running." },
	{ "system version", "The product name, version and build of the host." },
	{ 0 }
};

/* ---- output fields ---- */

static const struct cmd_field version_fields[] = {
	{ "Product", "Product", FIELD_STR, 0 },
	{ "Version", "Version", FIELD_STR, 0 },
	{ "Build", "Build", FIELD_STR, 0 },
	{ "Update", "Update", FIELD_STR, 0 },
	{ "Patch", "Patch", FIELD_STR, 0 },
	END
};

static const struct cmd_field hostname_fields[] = {
	{ "DomainName", "Domain Name", FIELD_STR, 0 },
	{ "FullyQualifiedDomainName", "Fully Qualified Domain Name", FIELD_STR, 0 },
	{ "HostName", "Host Name", FIELD_STR, 0 },
	END
};

static const struct cmd_field uptime_fields[] = {
	{ "Uptime", "Uptime", FIELD_INT, 0 },
	END
};

static const struct cmd_field nic_fields[] = {
	{ "Name", "Name", FIELD_STR, 0 },
	{ "LinuxName", "Linux Name", FIELD_STR, 0 },
	{ "PCIDevice", "PCI Device", FIELD_STR, 0 },
	{ "Driver", "Driver", FIELD_STR, 0 },
	{ "AdminStatus", "Admin Status", FIELD_STR, 0 },
	{ "LinkStatus", "Link Status", FIELD_STR, 0 },
	{ "Speed", "Speed", FIELD_INT, 0 },
	{ "Duplex", "Duplex", FIELD_STR, 0 },
	{ "MACAddress", "MAC Address", FIELD_STR, 0 },
	{ "MTU", "MTU", FIELD_INT, 0 },
	{ "Description", "Description", FIELD_STR, 0 },
	END
};

static const struct cmd_field vswitch_fields[] = {
	{ "Name", "Name", FIELD_STR, 0 },
	{ "Class", "Class", FIELD_STR, 0 },
	{ "NumPorts", "Num Ports", FIELD_INT, 0 },
	{ "UsedPorts", "Used Ports", FIELD_INT, 0 },
	{ "ConfiguredPorts", "Configured Ports", FIELD_INT, 0 },
	{ "MTU", "MTU", FIELD_INT, 0 },
	{ "CDPStatus", "CDP Status", FIELD_STR, 0 },
	{ "BeaconEnabled", "Beacon Enabled", FIELD_BOOL, 0 },
	{ "BeaconInterval", "Beacon Interval", FIELD_INT, 0 },
	{ "BeaconThreshold", "Beacon Threshold", FIELD_INT, 0 },
	{ "BeaconRequiredBy", "Beacon Required By", FIELD_LIST, 0 },
	{ "Uplinks", "Uplinks", FIELD_LIST, 0 },
	{ "Portgroups", "Portgroups", FIELD_LIST, 0 },
	END
};

static const struct cmd_field portgroup_fields[] = {
	{ "Name", "Name", FIELD_STR, 0 },
	{ "VirtualSwitch", "Virtual Switch", FIELD_STR, 0 },
	{ "ActiveClients", "Active Clients", FIELD_INT, 0 },
	{ "VLANID", "VLAN ID", FIELD_INT, 0 },
	END
};

#define FAILOVER_FIELDS \
	{ "LoadBalancing", "Load Balancing", FIELD_STR, 0 }, \
	{ "NetworkFailureDetection", "Network Failure Detection", FIELD_STR, 0 }, \
	{ "NotifySwitches", "Notify Switches", FIELD_BOOL, 0 }, \
	{ "Failback", "Failback", FIELD_BOOL, 0 }, \
	{ "ActiveAdapters", "Active Adapters", FIELD_LIST, 0 }, \
	{ "StandbyAdapters", "Standby Adapters", FIELD_LIST, 0 }, \
	{ "UnusedAdapters", "Unused Adapters", FIELD_LIST, 0 }

static const struct cmd_field failover_fields[] = { FAILOVER_FIELDS, END };

static const struct cmd_field pg_failover_fields[] = {
	FAILOVER_FIELDS,
	{ "OverrideVswitchLoadBalancing", "Override Vswitch Load Balancing", FIELD_BOOL, 0 },
	{ "OverrideVswitchNetworkFailureDetection",
	  "Override Vswitch Network Failure Detection", FIELD_BOOL, 0 },
	{ "OverrideVswitchNotifySwitches", "Override Vswitch Notify Switches", FIELD_BOOL, 0 },
	{ "OverrideVswitchFailback", "Override Vswitch Failback", FIELD_BOOL, 0 },
	{ "OverrideVswitchUplinks", "Override Vswitch Uplinks", FIELD_BOOL, 0 },
	END
};

#define SECURITY_FIELDS \
	{ "AllowPromiscuous", "Allow Promiscuous", FIELD_BOOL, 0 }, \
	{ "AllowMACAddressChange", "Allow MAC Address Change", FIELD_BOOL, 0 }, \
	{ "AllowForgedTransmits", "Allow Forged Transmits", FIELD_BOOL, 0 }

static const struct cmd_field security_fields[] = { SECURITY_FIELDS, END };

static const struct cmd_field pg_security_fields[] = {
	SECURITY_FIELDS,
	{ "OverrideVswitchAllowPromiscuous", "Override Vswitch Allow Promiscuous", FIELD_BOOL, 0 },
	{ "OverrideVswitchAllowMACAddressChange",
	  "Override Vswitch Allow MAC Address Change", FIELD_BOOL, 0 },
	{ "OverrideVswitchAllowForgedTransmits",
	  "Override Vswitch Allow Forged Transmits", FIELD_BOOL, 0 },
	END
};

#define SHAPING_FIELDS \
	{ "Enabled", "Enabled", FIELD_BOOL, 0 }, \
	{ "AverageBandwidth", "Average Bandwidth", FIELD_INT, "Kbps" }, \
	{ "PeakBandwidth", "Peak Bandwidth", FIELD_INT, "Kbps" }, \
	{ "BurstSize", "Burst Size", FIELD_INT, "Kib" }

static const struct cmd_field shaping_fields[] = { SHAPING_FIELDS, END };

static const struct cmd_field pg_shaping_fields[] = {
	SHAPING_FIELDS,
	{ "OverrideVswitchEnabled", "Override Vswitch Enabled", FIELD_BOOL, 0 },
	{ "OverrideVswitchAverageBandwidth", "Override Vswitch Average Bandwidth", FIELD_BOOL, 0 },
	{ "OverrideVswitchPeakBandwidth", "Override Vswitch Peak Bandwidth", FIELD_BOOL, 0 },
	{ "OverrideVswitchBurstSize", "Override Vswitch Burst Size", FIELD_BOOL, 0 },
	END
};

/* ---- options ---- */

static const struct cmd_opt no_opts[] = { END };

static const struct cmd_opt hostname_set_opts[] = {
	{ "domain", 'd', CMD_STR, 0, 0, 0,
	  "The domain name of the host. Cannot be combined with --fqdn." },
	{ "fqdn", 'f', CMD_STR, 0, 0, 0,
	  "The fully qualified domain name of the host: the host name, and the domain name "
	  "after the first dot. Cannot be combined with --host or --domain." },
	{ "host", 'H', CMD_STR, 0, 0, 0,
	  "The host name: letters, digits and '-', at most 63 characters. "
	  "Cannot be combined with --fqdn." },
	END
};

#define VSWITCH_OPT(req, text) { "vswitch-name", 'v', CMD_STR, (req), 0, 0, (text) }
#define PORTGROUP_OPT(text) { "portgroup-name", 'p', CMD_STR, REQ, 0, 0, (text) }

static const struct cmd_opt vswitch_list_opts[] = {
	VSWITCH_OPT(0, "List only the virtual switch of this name."),
	END
};

static const struct cmd_opt vswitch_add_opts[] = {
	{ "ports", 'P', CMD_LONG, RANGE(8, 4096),
	  "The number of ports of the new virtual switch (8 - 4096, default 128)." },
	VSWITCH_OPT(REQ, "The name of the virtual switch to add (at most 32 characters)."),
	END
};

static const struct cmd_opt vswitch_remove_opts[] = {
	VSWITCH_OPT(REQ, "The name of the virtual switch to remove."),
	END
};

static const struct cmd_opt vswitch_set_opts[] = {
	{ "cdp-status", 'c', CMD_STR, 0, 0, 0,
	  "The CDP status of the virtual switch: down, listen, advertise or both." },
	{ "mtu", 'm', CMD_LONG, RANGE(1280, 9000),
	  "The MTU of the virtual switch, in bytes. This value is in the range (1280 - 9000)" },
	VSWITCH_OPT(REQ, "The name of the virtual switch to change."),
	END
};

static const struct cmd_opt uplink_opts[] = {
	{ "uplink-name", 'u', CMD_STR, REQ, 0, 0, "The name of the NIC (vmnicN)." },
	VSWITCH_OPT(REQ, "The name of the virtual switch."),
	END
};

static const struct cmd_opt portgroup_add_opts[] = {
	PORTGROUP_OPT("The name of the port group to add (unique on the host, at most 63 "
		      "characters)."),
	VSWITCH_OPT(REQ, "The virtual switch to add the port group to."),
	END
};

static const struct cmd_opt portgroup_remove_opts[] = {
	PORTGROUP_OPT("The name of the port group to remove."),
	VSWITCH_OPT(REQ, "The virtual switch the port group is on."),
	END
};

static const struct cmd_opt portgroup_set_opts[] = {
	PORTGROUP_OPT("The name of the port group to set the VLAN ID of."),
	{ "vlan-id", 'v', CMD_LONG, REQ | RANGE(0, 4095),
	  "The VLAN ID of the port group: 0 for none, 4095 for all VLANs. "
	  "This value is in the range (0 - 4095)" },
	END
};

#define FAILOVER_OPTS \
	{ "active-uplinks", 'a', CMD_STR, 0, 0, 0, \
	  "The active uplinks, comma-separated without spaces; '' for none." }, \
	{ "failback", 'b', CMD_BOOL, 0, 0, 0, \
	  "Whether a recovered active uplink takes its traffic back." }, \
	{ "failure-detection", 'f', CMD_STR, 0, 0, 0, \
	  "How a failed uplink is detected: link or beacon." }, \
	{ "load-balancing", 'l', CMD_STR, 0, 0, 0, \
	  "How traffic is spread over the active uplinks: portid (by originating port), " \
	  "mac (by source MAC), iphash (by IP addresses) or explicit (the first active uplink)." }, \
	{ "notify-switches", 'n', CMD_BOOL, 0, 0, 0, \
	  "Whether physical switches are told when a port moves to another uplink." }

#define STANDBY_OPT \
	{ "standby-uplinks", 's', CMD_STR, 0, 0, 0, \
	  "The standby uplinks, comma-separated without spaces; '' for none." }

#define USE_VSWITCH_OPT(what) \
	{ "use-vswitch", 'u', CMD_FLAG, 0, 0, 0, \
	  "Inherit every " what " setting from the virtual switch again; applied before " \
	  "the other options." }

static const struct cmd_opt vs_get_opts[] = {
	VSWITCH_OPT(REQ, "The name of the virtual switch."),
	END
};

static const struct cmd_opt pg_get_opts[] = {
	PORTGROUP_OPT("The name of the port group."),
	END
};

static const struct cmd_opt vs_failover_set_opts[] = {
	FAILOVER_OPTS,
	STANDBY_OPT,
	VSWITCH_OPT(REQ, "The name of the virtual switch."),
	END
};

static const struct cmd_opt pg_failover_set_opts[] = {
	FAILOVER_OPTS,
	PORTGROUP_OPT("The name of the port group."),
	STANDBY_OPT,
	USE_VSWITCH_OPT("failover"),
	END
};

#define SECURITY_OPTS(promisc_letter) \
	{ "allow-forged-transmits", 'f', CMD_BOOL, 0, 0, 0, \
	  "Whether frames whose source MAC differs from the adapter's are sent." }, \
	{ "allow-mac-change", 'm', CMD_BOOL, 0, 0, 0, \
	  "Whether an adapter whose guest changed its MAC still receives frames." }, \
	{ "allow-promiscuous", (promisc_letter), CMD_BOOL, 0, 0, 0, \
	  "Whether ports may receive every frame of their VLAN." }

static const struct cmd_opt vs_security_set_opts[] = {
	SECURITY_OPTS('p'),
	VSWITCH_OPT(REQ, "The name of the virtual switch."),
	END
};

static const struct cmd_opt pg_security_set_opts[] = {
	SECURITY_OPTS('o'),
	PORTGROUP_OPT("The name of the port group."),
	USE_VSWITCH_OPT("security"),
	END
};

#define SHAPING_OPTS \
	{ "avg-bandwidth", 'b', CMD_LONG, RANGE(1, 2147483647LL), \
	  "The average bandwidth, in Kbps (1 Kbps = 1000 bits/s)." }, \
	{ "burst-size", 't', CMD_LONG, RANGE(1, 2147483647LL), \
	  "The burst size, in Kib (1 Kib = 1024 bits)." }, \
	{ "enabled", 'e', CMD_BOOL, 0, 0, 0, \
	  "Whether traffic shaping is on. Turning it on needs --avg-bandwidth, " \
	  "--peak-bandwidth and --burst-size." }, \
	{ "peak-bandwidth", 'k', CMD_LONG, RANGE(1, 2147483647LL), \
	  "The peak bandwidth, in Kbps; not lower than the average." }

static const struct cmd_opt vs_shaping_set_opts[] = {
	SHAPING_OPTS,
	VSWITCH_OPT(REQ, "The name of the virtual switch."),
	END
};

static const struct cmd_opt pg_shaping_set_opts[] = {
	SHAPING_OPTS,
	PORTGROUP_OPT("The name of the port group."),
	USE_VSWITCH_OPT("shaping"),
	END
};

/* ---- commands ---- */

#define VS "network vswitch standard"
#define PG VS " portgroup"

static const struct cmd cmds[] = {
	{ "system version", "get", "Show the product name, version and build of the host.",
	  no_opts, OUT_STRUCT, "VersionGet", version_fields },
	{ "system hostname", "get", "Show the host name, domain name and fully qualified "
	  "domain name of the host.", no_opts, OUT_STRUCT, "FullyQualifiedHostName",
	  hostname_fields },
	{ "system hostname", "set", "Set the host name, the domain name or both (--fqdn).",
	  hostname_set_opts, OUT_NONE, 0, 0 },
	{ "system stats uptime", "get", "Show how long the host has been running, in "
	  "microseconds.", no_opts, OUT_SCALAR, "Uptime", uptime_fields },
	{ "network nic", "list", "List the physical NICs of the host: every interface of "
	  "vmkd's network namespace other than loopback and VMkernel adapters.",
	  no_opts, OUT_TABLE, "PhysicalNic", nic_fields },
	{ VS, "list", "List the standard virtual switches of the host.", vswitch_list_opts,
	  OUT_STRUCT_LIST, "VirtualSwitch", vswitch_fields },
	{ VS, "add", "Add a standard virtual switch.", vswitch_add_opts, OUT_NONE, 0, 0 },
	{ VS, "remove", "Remove a standard virtual switch, its port groups and uplinks.",
	  vswitch_remove_opts, OUT_NONE, 0, 0 },
	{ VS, "set", "Set the MTU and CDP status of a standard virtual switch.",
	  vswitch_set_opts, OUT_NONE, 0, 0 },
	{ VS " uplink", "add", "Add a NIC to a virtual switch as an uplink.", uplink_opts,
	  OUT_NONE, 0, 0 },
	{ VS " uplink", "remove", "Remove an uplink from a virtual switch.", uplink_opts,
	  OUT_NONE, 0, 0 },
	{ PG, "list", "List the port groups of the standard virtual switches.", no_opts,
	  OUT_TABLE, "PortGroup", portgroup_fields },
	{ PG, "add", "Add a port group to a standard virtual switch.", portgroup_add_opts,
	  OUT_NONE, 0, 0 },
	{ PG, "remove", "Remove a port group from a standard virtual switch.",
	  portgroup_remove_opts, OUT_NONE, 0, 0 },
	{ PG, "set", "Set the VLAN ID of a port group.", portgroup_set_opts, OUT_NONE, 0, 0 },
	{ VS " policy failover", "get", "Show the teaming and failover policy of a virtual "
	  "switch.", vs_get_opts, OUT_STRUCT, "FailoverPolicy", failover_fields },
	{ VS " policy failover", "set", "Set the teaming and failover policy of a virtual "
	  "switch.", vs_failover_set_opts, OUT_NONE, 0, 0 },
	{ VS " policy security", "get", "Show the security policy of a virtual switch.",
	  vs_get_opts, OUT_STRUCT, "SecurityPolicy", security_fields },
	{ VS " policy security", "set", "Set the security policy of a virtual switch.",
	  vs_security_set_opts, OUT_NONE, 0, 0 },
	{ VS " policy shaping", "get", "Show the traffic shaping policy of a virtual switch.",
	  vs_get_opts, OUT_STRUCT, "ShapingPolicy", shaping_fields },
	{ VS " policy shaping", "set", "Set the traffic shaping policy of a virtual switch.",
	  vs_shaping_set_opts, OUT_NONE, 0, 0 },
	{ PG " policy failover", "get", "Show the effective teaming and failover policy of a "
	  "port group and which settings override the virtual switch's.", pg_get_opts,
	  OUT_STRUCT, "PortgroupFailoverPolicy", pg_failover_fields },
	{ PG " policy failover", "set", "Override teaming and failover settings of a port "
	  "group, or inherit them again (--use-vswitch).", pg_failover_set_opts,
	  OUT_NONE, 0, 0 },
	{ PG " policy security", "get", "Show the effective security policy of a port group "
	  "and which settings override the virtual switch's.", pg_get_opts, OUT_STRUCT,
	  "PortgroupSecurityPolicy", pg_security_fields },
	{ PG " policy security", "set", "Override security settings of a port group, or "
	  "inherit them again (--use-vswitch).", pg_security_set_opts, OUT_NONE, 0, 0 },
	{ PG " policy shaping", "get", "Show the effective traffic shaping policy of a port "
	  "group and which settings override the virtual switch's.", pg_get_opts, OUT_STRUCT,
	  "PortgroupShapingPolicy", pg_shaping_fields },
	{ PG " policy shaping", "set", "Override traffic shaping settings of a port group, or "
	  "inherit them again (--use-vswitch).", pg_shaping_set_opts, OUT_NONE, 0, 0 },
	{ 0 }
};

const struct cmd_table esxcli_table = { "esxcli", namespaces, cmds };
