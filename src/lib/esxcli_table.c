/*
 * The esxcli command tree that vmk implements: every namespace and
 * command with its options and output fields.  esxcli and vmkd both read
 * this table (cmdtable.h); adding a command here gives it parsing,
 * `--help`, validation and all formatters, and vmkd needs only the
 * handler for its method.
 *
 * Option names, short letters, types and output field names follow the
 * reference's esxcli (shared/reference/esxcli.md, sections 2-7).
 * Where the reference is silent (ranges of ports, lengths of names,
 * short letters of `system hostname set`) the choice is ours and
 * docs/esxcli.md says so.
 */
#include "cmdtable.h"

#define END { 0 }
/* An output field: internal name, label, type, unit (or 0). */
#define FLD(key, label, type, unit) { (key), (label), (type), (unit), 0, 0 }
/* A field holding a nested struct (or list of them) of type sub_type. */
#define NESTED(key, label, type, sub, sub_type) { (key), (label), (type), 0, (sub), (sub_type) }
#define REQ CMD_REQUIRED
#define RANGE(lo, hi) CMD_RANGE, (lo), (hi)

/* ---- namespaces ---- */

static const struct cmd_ns namespaces[] = {
	{ "network", "Operations on the host's networking: virtual switches, NICs, VMkernel "
	  "adapters, TCP/IP stacks and routes." },
	{ "network diag", "Diagnostics of the host's networking." },
	{ "network ip", "Operations on the host's IP networking: VMkernel adapters, TCP/IP stacks "
	  "and routes." },
	{ "network ip connection", "List active tcpip connections" },
	{ "network ip dns", "Operations pertaining to Domain Name Server configuration." },
	{ "network ip dns search", "Operations on the DNS search domains of a netstack." },
	{ "network ip dns server", "Operations on the DNS servers of a netstack." },
	{ "network ip interface", "Operations having to do with the creation, management and "
	  "deletion of VMkernel network interfaces (vmknic)." },
	{ "network ip interface ipv4", "IPv4 settings of VMkernel network interfaces." },
	{ "network ip interface ipv6", "IPv6 settings of VMkernel network interfaces." },
	{ "network ip interface ipv6 address", "Static IPv6 addresses of VMkernel network "
	  "interfaces." },
	{ "network ip interface tag", "Service tags of VMkernel network interfaces: the traffic "
	  "each one carries." },
	{ "network ip neighbor", "Operations that can be performed on arp tables" },
	{ "network ip netstack", "Operations having to do with the creation, management and "
	  "deletion of VMkernel Netstack Instances." },
	{ "network ip route", "Operations pertaining to route configuration" },
	{ "network ip route ipv4", "IPv4 routes of the TCP/IP stacks." },
	{ "network ip route ipv6", "IPv6 routes of the TCP/IP stacks." },
	{ "network nic", "Operations on the host's physical network adapters (NICs)." },
	{ "network nic stats", "Statistics of the host's physical network adapters." },
	{ "network vm", "Operations on the network adapters of running virtual machines." },
	{ "network vm port", "The virtual switch ports of a running virtual machine." },
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
	{ "storage", "Operations on the host's storage." },
	{ "storage filesystem", "Operations on the file systems (datastores) of the host." },
	{ "system", "Operations on the host system: name, version, statistics." },
	{ "system hostname", "The host name, domain name and fully qualified domain name of the host." },
	{ "system stats", "Statistics of the host system." },
	{ "system stats uptime", "How long the host has been running." },
	{ "system version", "The product name, version and build of the host." },
	{ "vm", "A small number of operations that allow a user to Control Virtual Machine "
	  "operations." },
	{ "vm process", "Operations on the vmx processes of running virtual machines." },
	{ 0 }
};

/* ---- output fields ---- */

static const struct cmd_field version_fields[] = {
	FLD("Product", "Product", FIELD_STR, 0),
	FLD("Version", "Version", FIELD_STR, 0),
	FLD("Build", "Build", FIELD_STR, 0),
	FLD("Update", "Update", FIELD_STR, 0),
	FLD("Patch", "Patch", FIELD_STR, 0),
	END
};

static const struct cmd_field hostname_fields[] = {
	FLD("DomainName", "Domain Name", FIELD_STR, 0),
	FLD("FullyQualifiedDomainName", "Fully Qualified Domain Name", FIELD_STR, 0),
	FLD("HostName", "Host Name", FIELD_STR, 0),
	END
};

static const struct cmd_field filesystem_fields[] = {
	FLD("MountPoint", "Mount Point", FIELD_STR, 0),
	FLD("VolumeName", "Volume Name", FIELD_STR, 0),
	FLD("UUID", "UUID", FIELD_STR, 0),
	FLD("Mounted", "Mounted", FIELD_BOOL, 0),
	FLD("Type", "Type", FIELD_STR, 0),
	FLD("Size", "Size", FIELD_INT, 0),
	FLD("Free", "Free", FIELD_INT, 0),
	END
};

/* Headed by the display name (a heading-only field, label 0), as the
 * reference prints `vm process list`. */
static const struct cmd_field vm_process_fields[] = {
	FLD("DisplayName", 0, FIELD_STR, 0),
	FLD("WorldID", "World ID", FIELD_INT, 0),
	FLD("ProcessID", "Process ID", FIELD_INT, 0),
	FLD("VMXCartelID", "VMX Cartel ID", FIELD_INT, 0),
	FLD("UUID", "UUID", FIELD_STR, 0),
	FLD("DisplayName", "Display Name", FIELD_STR, 0),
	FLD("ConfigFile", "Config File", FIELD_STR, 0),
	END
};

static const struct cmd_field network_vm_fields[] = {
	FLD("WorldID", "World ID", FIELD_INT, 0),
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("NumPorts", "Num Ports", FIELD_INT, 0),
	FLD("Networks", "Networks", FIELD_LIST, 0),
	END
};

static const struct cmd_field network_vm_port_fields[] = {
	FLD("PortID", "Port ID", FIELD_INT, 0),
	FLD("vSwitch", "vSwitch", FIELD_STR, 0),
	FLD("Portgroup", "Portgroup", FIELD_STR, 0),
	FLD("DVPortID", "DVPort ID", FIELD_STR, 0),
	FLD("MACAddress", "MAC Address", FIELD_STR, 0),
	FLD("IPAddress", "IP Address", FIELD_STR, 0),
	FLD("TeamUplink", "Team Uplink", FIELD_STR, 0),
	FLD("UplinkPortID", "Uplink Port ID", FIELD_INT, 0),
	FLD("ActiveFilters", "Active Filters", FIELD_STR, 0),
	END
};

static const struct cmd_field uptime_fields[] = {
	FLD("Uptime", "Uptime", FIELD_INT, 0),
	END
};

static const struct cmd_field nic_fields[] = {
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("LinuxName", "Linux Name", FIELD_STR, 0),
	FLD("PCIDevice", "PCI Device", FIELD_STR, 0),
	FLD("Driver", "Driver", FIELD_STR, 0),
	FLD("AdminStatus", "Admin Status", FIELD_STR, 0),
	FLD("LinkStatus", "Link Status", FIELD_STR, 0),
	FLD("Speed", "Speed", FIELD_INT, 0),
	FLD("Duplex", "Duplex", FIELD_STR, 0),
	FLD("MACAddress", "MAC Address", FIELD_STR, 0),
	FLD("MTU", "MTU", FIELD_INT, 0),
	FLD("Description", "Description", FIELD_STR, 0),
	END
};

/* `nic get`: ESXi's NICInfo fields, alphabetical as ESXi prints them, with
 * vmk's Admin Status, Duplex, MAC Address (the permanent one), MTU and
 * Speed in their places. */
static const struct cmd_field nic_driver_fields[] = {
	FLD("BusInfo", "Bus Info", FIELD_STR, 0),
	FLD("Driver", "Driver", FIELD_STR, 0),
	FLD("FirmwareVersion", "Firmware Version", FIELD_STR, 0),
	FLD("Version", "Version", FIELD_STR, 0),
	END
};

static const struct cmd_field nic_get_fields[] = {
	FLD("AdminStatus", "Admin Status", FIELD_STR, 0),
	FLD("AdvertisedAutoNegotiation", "Advertised Auto Negotiation", FIELD_BOOL, 0),
	FLD("AdvertisedLinkModes", "Advertised Link Modes", FIELD_LIST, 0),
	FLD("AutoNegotiation", "Auto Negotiation", FIELD_BOOL, 0),
	FLD("CableType", "Cable Type", FIELD_STR, 0),
	FLD("CurrentMessageLevel", "Current Message Level", FIELD_INT, 0),
	NESTED("DriverInfo", "Driver Info", FIELD_STRUCT, nic_driver_fields, "NICDriverInfo"),
	FLD("Duplex", "Duplex", FIELD_STR, 0),
	FLD("LinkDetected", "Link Detected", FIELD_BOOL, 0),
	FLD("LinkStatus", "Link Status", FIELD_STR, 0),
	FLD("MACAddress", "MAC Address", FIELD_STR, 0),
	FLD("MTU", "MTU", FIELD_INT, 0),
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("PHYAddress", "PHYAddress", FIELD_INT, 0),
	FLD("PauseAutonegotiate", "Pause Autonegotiate", FIELD_BOOL, 0),
	FLD("PauseRX", "Pause RX", FIELD_BOOL, 0),
	FLD("PauseTX", "Pause TX", FIELD_BOOL, 0),
	FLD("Speed", "Speed", FIELD_INT, 0),
	FLD("SupportedPorts", "Supported Ports", FIELD_LIST, 0),
	FLD("SupportsAutoNegotiation", "Supports Auto Negotiation", FIELD_BOOL, 0),
	FLD("SupportsPause", "Supports Pause", FIELD_BOOL, 0),
	FLD("SupportsWakeon", "Supports Wakeon", FIELD_BOOL, 0),
	FLD("Transceiver", "Transceiver", FIELD_STR, 0),
	FLD("VirtualAddress", "Virtual Address", FIELD_STR, 0),
	FLD("Wakeon", "Wakeon", FIELD_LIST, 0),
	END
};

/* `nic stats get`: headed "NIC statistics for vmnicN" (heading only);
 * internal names as ESXi's. */
static const struct cmd_field nic_stats_fields[] = {
	FLD("Heading", 0, FIELD_STR, 0),
	FLD("Packetsreceived", "Packets received", FIELD_INT, 0),
	FLD("Packetssent", "Packets sent", FIELD_INT, 0),
	FLD("Bytesreceived", "Bytes received", FIELD_INT, 0),
	FLD("Bytessent", "Bytes sent", FIELD_INT, 0),
	FLD("Receivepacketsdropped", "Receive packets dropped", FIELD_INT, 0),
	FLD("Transmitpacketsdropped", "Transmit packets dropped", FIELD_INT, 0),
	FLD("Multicastpacketsreceived", "Multicast packets received", FIELD_INT, 0),
	FLD("Broadcastpacketsreceived", "Broadcast packets received", FIELD_INT, 0),
	FLD("Multicastpacketssent", "Multicast packets sent", FIELD_INT, 0),
	FLD("Broadcastpacketssent", "Broadcast packets sent", FIELD_INT, 0),
	FLD("Totalreceiveerrors", "Total receive errors", FIELD_INT, 0),
	FLD("Receivelengtherrors", "Receive length errors", FIELD_INT, 0),
	FLD("Receiveovererrors", "Receive over errors", FIELD_INT, 0),
	FLD("ReceiveCRCerrors", "Receive CRC errors", FIELD_INT, 0),
	FLD("Receiveframeerrors", "Receive frame errors", FIELD_INT, 0),
	FLD("ReceiveFIFOerrors", "Receive FIFO errors", FIELD_INT, 0),
	FLD("Receivemissederrors", "Receive missed errors", FIELD_INT, 0),
	FLD("Totaltransmiterrors", "Total transmit errors", FIELD_INT, 0),
	FLD("Transmitabortederrors", "Transmit aborted errors", FIELD_INT, 0),
	FLD("Transmitcarriererrors", "Transmit carrier errors", FIELD_INT, 0),
	FLD("TransmitFIFOerrors", "Transmit FIFO errors", FIELD_INT, 0),
	FLD("Transmitheartbeaterrors", "Transmit heartbeat errors", FIELD_INT, 0),
	FLD("Transmitwindowerrors", "Transmit window errors", FIELD_INT, 0),
	END
};

static const struct cmd_field vswitch_fields[] = {
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("Class", "Class", FIELD_STR, 0),
	FLD("NumPorts", "Num Ports", FIELD_INT, 0),
	FLD("UsedPorts", "Used Ports", FIELD_INT, 0),
	FLD("ConfiguredPorts", "Configured Ports", FIELD_INT, 0),
	FLD("MTU", "MTU", FIELD_INT, 0),
	FLD("CDPStatus", "CDP Status", FIELD_STR, 0),
	FLD("BeaconEnabled", "Beacon Enabled", FIELD_BOOL, 0),
	FLD("BeaconInterval", "Beacon Interval", FIELD_INT, 0),
	FLD("BeaconThreshold", "Beacon Threshold", FIELD_INT, 0),
	FLD("BeaconRequiredBy", "Beacon Required By", FIELD_LIST, 0),
	FLD("Uplinks", "Uplinks", FIELD_LIST, 0),
	FLD("Portgroups", "Portgroups", FIELD_LIST, 0),
	END
};

static const struct cmd_field portgroup_fields[] = {
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("VirtualSwitch", "Virtual Switch", FIELD_STR, 0),
	FLD("ActiveClients", "Active Clients", FIELD_INT, 0),
	FLD("VLANID", "VLAN ID", FIELD_INT, 0),
	END
};

#define FAILOVER_FIELDS \
	FLD("LoadBalancing", "Load Balancing", FIELD_STR, 0), \
	FLD("NetworkFailureDetection", "Network Failure Detection", FIELD_STR, 0), \
	FLD("NotifySwitches", "Notify Switches", FIELD_BOOL, 0), \
	FLD("Failback", "Failback", FIELD_BOOL, 0), \
	FLD("ActiveAdapters", "Active Adapters", FIELD_LIST, 0), \
	FLD("StandbyAdapters", "Standby Adapters", FIELD_LIST, 0), \
	FLD("UnusedAdapters", "Unused Adapters", FIELD_LIST, 0)

static const struct cmd_field failover_fields[] = { FAILOVER_FIELDS, END };

static const struct cmd_field pg_failover_fields[] = {
	FAILOVER_FIELDS,
	FLD("OverrideVswitchLoadBalancing", "Override Vswitch Load Balancing", FIELD_BOOL, 0),
	FLD("OverrideVswitchNetworkFailureDetection",
	  "Override Vswitch Network Failure Detection", FIELD_BOOL, 0),
	FLD("OverrideVswitchNotifySwitches", "Override Vswitch Notify Switches", FIELD_BOOL, 0),
	FLD("OverrideVswitchFailback", "Override Vswitch Failback", FIELD_BOOL, 0),
	FLD("OverrideVswitchUplinks", "Override Vswitch Uplinks", FIELD_BOOL, 0),
	END
};

#define SECURITY_FIELDS \
	FLD("AllowPromiscuous", "Allow Promiscuous", FIELD_BOOL, 0), \
	FLD("AllowMACAddressChange", "Allow MAC Address Change", FIELD_BOOL, 0), \
	FLD("AllowForgedTransmits", "Allow Forged Transmits", FIELD_BOOL, 0)

static const struct cmd_field security_fields[] = { SECURITY_FIELDS, END };

static const struct cmd_field pg_security_fields[] = {
	SECURITY_FIELDS,
	FLD("OverrideVswitchAllowPromiscuous", "Override Vswitch Allow Promiscuous", FIELD_BOOL, 0),
	FLD("OverrideVswitchAllowMACAddressChange",
	  "Override Vswitch Allow MAC Address Change", FIELD_BOOL, 0),
	FLD("OverrideVswitchAllowForgedTransmits",
	  "Override Vswitch Allow Forged Transmits", FIELD_BOOL, 0),
	END
};

#define SHAPING_FIELDS \
	FLD("Enabled", "Enabled", FIELD_BOOL, 0), \
	FLD("AverageBandwidth", "Average Bandwidth", FIELD_INT, "Kbps"), \
	FLD("PeakBandwidth", "Peak Bandwidth", FIELD_INT, "Kbps"), \
	FLD("BurstSize", "Burst Size", FIELD_INT, "Kib")

static const struct cmd_field shaping_fields[] = { SHAPING_FIELDS, END };

static const struct cmd_field pg_shaping_fields[] = {
	SHAPING_FIELDS,
	FLD("OverrideVswitchEnabled", "Override Vswitch Enabled", FIELD_BOOL, 0),
	FLD("OverrideVswitchAverageBandwidth", "Override Vswitch Average Bandwidth", FIELD_BOOL, 0),
	FLD("OverrideVswitchPeakBandwidth", "Override Vswitch Peak Bandwidth", FIELD_BOOL, 0),
	FLD("OverrideVswitchBurstSize", "Override Vswitch Burst Size", FIELD_BOOL, 0),
	END
};


/* ---- output fields: network ip, network diag ---- */

#define VMKNIC_FIELDS \
	FLD("Name", "Name", FIELD_STR, 0), \
	FLD("MACAddress", "MAC Address", FIELD_STR, 0), \
	FLD("Enabled", "Enabled", FIELD_BOOL, 0), \
	FLD("Portset", "Portset", FIELD_STR, 0), \
	FLD("Portgroup", "Portgroup", FIELD_STR, 0), \
	FLD("NetstackInstance", "Netstack Instance", FIELD_STR, 0), \
	FLD("VDSName", "VDS Name", FIELD_STR, 0), \
	FLD("VDSUUID", "VDS UUID", FIELD_STR, 0), \
	FLD("VDSPort", "VDS Port", FIELD_STR, 0), \
	FLD("VDSConnection", "VDS Connection", FIELD_INT, 0), \
	FLD("OpaqueNetworkID", "Opaque Network ID", FIELD_STR, 0), \
	FLD("OpaqueNetworkType", "Opaque Network Type", FIELD_STR, 0), \
	FLD("ExternalID", "External ID", FIELD_STR, 0), \
	FLD("MTU", "MTU", FIELD_INT, 0), \
	FLD("TSOMSS", "TSO MSS", FIELD_INT, 0), \
	FLD("RXDispQueueSize", "RXDispQueue Size", FIELD_INT, 0), \
	FLD("PortID", "Port ID", FIELD_INT, 0)

static const struct cmd_field vmknic_fields[] = { VMKNIC_FIELDS, END };

static const struct cmd_field vmknic_get_fields[] = {
	VMKNIC_FIELDS,
	FLD("IPv4Address", "IPv4 Address", FIELD_STR, 0),
	FLD("IPv4Netmask", "IPv4 Netmask", FIELD_STR, 0),
	FLD("IPv4Broadcast", "IPv4 Broadcast", FIELD_STR, 0),
	FLD("AddressType", "Address Type", FIELD_STR, 0),
	FLD("Gateway", "Gateway", FIELD_STR, 0),
	FLD("IPv6Addresses", "IPv6 Addresses", FIELD_LIST, 0),
	FLD("Tags", "Tags", FIELD_LIST, 0),
	END
};

static const struct cmd_field ipv4_fields[] = {
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("IPv4Address", "IPv4 Address", FIELD_STR, 0),
	FLD("IPv4Netmask", "IPv4 Netmask", FIELD_STR, 0),
	FLD("IPv4Broadcast", "IPv4 Broadcast", FIELD_STR, 0),
	FLD("AddressType", "Address Type", FIELD_STR, 0),
	FLD("Gateway", "Gateway", FIELD_STR, 0),
	FLD("DHCPDNS", "DHCP DNS", FIELD_BOOL, 0),
	END
};

static const struct cmd_field ipv6_fields[] = {
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("DHCPv6Enabled", "DHCPv6 Enabled", FIELD_BOOL, 0),
	FLD("RouterAdvEnabled", "Router Adv Enabled", FIELD_BOOL, 0),
	FLD("DHCPDNS", "DHCP DNS", FIELD_BOOL, 0),
	END
};

static const struct cmd_field ipv6_address_fields[] = {
	FLD("Interface", "Interface", FIELD_STR, 0),
	FLD("Address", "Address", FIELD_STR, 0),
	FLD("Netmask", "Netmask", FIELD_INT, 0),
	FLD("Type", "Type", FIELD_STR, 0),
	FLD("Status", "Status", FIELD_STR, 0),
	END
};

static const struct cmd_field tag_fields[] = {
	FLD("Tags", "Tags", FIELD_LIST, 0),
	END
};

static const struct cmd_field dns_server_fields[] = {
	FLD("DNSServers", "DNSServers", FIELD_LIST, 0),
	END
};

static const struct cmd_field dns_search_fields[] = {
	FLD("DNSSearchDomains", "DNSSearch Domains", FIELD_LIST, 0),
	END
};

static const struct cmd_field netstack_list_fields[] = {
	FLD("Key", "Key", FIELD_STR, 0),
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("State", "State", FIELD_INT, 0),
	END
};

static const struct cmd_field netstack_get_fields[] = {
	FLD("Key", "Key", FIELD_STR, 0),
	FLD("Name", "Name", FIELD_STR, 0),
	FLD("Enabled", "Enabled", FIELD_BOOL, 0),
	FLD("MaxConnections", "Max Connections", FIELD_INT, 0),
	FLD("CurrentMaxConnections", "Current Max Connections", FIELD_INT, 0),
	FLD("CongestionControlAlgorithm", "Congestion Control Algorithm", FIELD_STR, 0),
	FLD("IPv6Enabled", "IPv6 Enabled", FIELD_BOOL, 0),
	FLD("CurrentIPv6Enabled", "Current IPv6 Enabled", FIELD_BOOL, 0),
	FLD("State", "State", FIELD_INT, 0),
	END
};

static const struct cmd_field route_fields[] = {
	FLD("Network", "Network", FIELD_STR, 0),
	FLD("Netmask", "Netmask", FIELD_STR, 0),
	FLD("Gateway", "Gateway", FIELD_STR, 0),
	FLD("Interface", "Interface", FIELD_STR, 0),
	FLD("Source", "Source", FIELD_STR, 0),
	END
};

static const struct cmd_field route6_fields[] = {
	FLD("Network", "Network", FIELD_STR, 0),
	FLD("Netmask", "Netmask", FIELD_INT, 0),
	FLD("Gateway", "Gateway", FIELD_STR, 0),
	FLD("Interface", "Interface", FIELD_STR, 0),
	FLD("Source", "Source", FIELD_STR, 0),
	END
};

static const struct cmd_field neighbor_fields[] = {
	FLD("Neighbor", "Neighbor", FIELD_STR, 0),
	FLD("MacAddress", "Mac Address", FIELD_STR, 0),
	FLD("Vmknic", "Vmknic", FIELD_STR, 0),
	FLD("Expiry", "Expiry", FIELD_STR, 0),
	FLD("State", "State", FIELD_STR, 0),
	FLD("Type", "Type", FIELD_STR, 0),
	END
};

static const struct cmd_field connection_fields[] = {
	FLD("Proto", "Proto", FIELD_STR, 0),
	FLD("RecvQ", "Recv Q", FIELD_INT, 0),
	FLD("SendQ", "Send Q", FIELD_INT, 0),
	FLD("LocalAddress", "Local Address", FIELD_STR, 0),
	FLD("ForeignAddress", "Foreign Address", FIELD_STR, 0),
	FLD("State", "State", FIELD_STR, 0),
	FLD("WorldID", "World ID", FIELD_INT, 0),
	FLD("CCAlgo", "CC Algo", FIELD_STR, 0),
	FLD("WorldName", "World Name", FIELD_STR, 0),
	END
};

static const struct cmd_field ping_trace_fields[] = {
	FLD("ReceivedBytes", "Received Bytes", FIELD_INT, 0),
	FLD("Host", "Host", FIELD_STR, 0),
	FLD("ICMPSeq", "ICMP Seq", FIELD_INT, 0),
	FLD("TTL", "TTL", FIELD_INT, 0),
	FLD("RoundtripTime", "Round-trip Time", FIELD_INT, "us"),
	FLD("Dup", "Dup", FIELD_BOOL, 0),
	FLD("Detail", "Detail", FIELD_STR, 0),
	END
};

/* "Recieved" [sic]: the reference's own spelling in the summary. */
static const struct cmd_field ping_summary_fields[] = {
	FLD("HostAddr", "Host Addr", FIELD_STR, 0),
	FLD("Transmitted", "Transmitted", FIELD_INT, 0),
	FLD("Recieved", "Recieved", FIELD_INT, 0),
	FLD("Duplicated", "Duplicated", FIELD_INT, 0),
	FLD("PacketLost", "Packet Lost", FIELD_INT, 0),
	FLD("RoundtripMin", "Round-trip Min", FIELD_INT, "us"),
	FLD("RoundtripAvg", "Round-trip Avg", FIELD_INT, "us"),
	FLD("RoundtripMax", "Round-trip Max", FIELD_INT, "us"),
	END
};

static const struct cmd_field ping_fields[] = {
	NESTED("Trace", "Trace", FIELD_STRUCT_LIST, ping_trace_fields, "VMKPingTrace"),
	NESTED("Summary", "Summary", FIELD_STRUCT, ping_summary_fields, "VMKPingSummary"),
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

static const struct cmd_opt nic_name_opts[] = {
	{ "nic-name", 'n', CMD_STR, REQ, 0, 0, "The name of the NIC (vmnicN)." },
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


/* ---- options: network ip, network diag ---- */

#define IFACE_OPT(req, text) { "interface-name", 'i', CMD_STR, (req), 0, 0, (text) }
#define NETSTACK_OPT(req, text) { "netstack", 'N', CMD_STR, (req), 0, 0, (text) }
#define VMK_MTU_OPT \
	{ "mtu", 'm', CMD_LONG, RANGE(1280, 9000), \
	  "The MTU of the interface, in bytes. This value is in the range (1280 - 9000)" }

static const struct cmd_opt iface_list_opts[] = {
	NETSTACK_OPT(0, "List only the VMkernel network interfaces on this netstack."),
	END
};

static const struct cmd_opt iface_one_opts[] = {
	IFACE_OPT(REQ, "The name of the VMkernel network interface (vmkN)."),
	END
};

static const struct cmd_opt iface_add_opts[] = {
	{ "gateway", 'g', CMD_STR, 0, 0, 0,
	  "The IPv4 gateway of the interface, with an IPv4 address given as --mac-address "
	  "(vmk extension)." },
	IFACE_OPT(0, "The name of the new interface: vmkN, N a number 0-9999. Default: the lowest "
		  "free vmkN."),
	{ "mac-address", 'M', CMD_STR, 0, 0, 0,
	  "The MAC address of the interface (xx:xx:xx:xx:xx:xx; default: generated in "
	  "00:50:56). An IPv4 address here is the interface's static IPv4 address." },
	VMK_MTU_OPT,
	NETSTACK_OPT(0, "The netstack of the interface (default defaultTcpipStack). An IPv4 "
		     "netmask here is the netmask of the address given as --mac-address."),
	{ "portgroup-name", 'p', CMD_STR, REQ, 0, 0,
	  "The port group of a standard virtual switch to connect the interface to." },
	END
};

static const struct cmd_opt iface_remove_opts[] = {
	IFACE_OPT(0, "The name of the interface to remove."),
	{ "portgroup-name", 'p', CMD_STR, 0, 0, 0,
	  "Remove the interface on this port group (instead of --interface-name)." },
	END
};

static const struct cmd_opt iface_set_opts[] = {
	{ "enabled", 'e', CMD_BOOL, 0, 0, 0, "Enable or disable the interface." },
	IFACE_OPT(REQ, "The name of the interface to change."),
	VMK_MTU_OPT,
	END
};

static const struct cmd_opt iface_filter_opts[] = {
	IFACE_OPT(0, "Show only this interface."),
	NETSTACK_OPT(0, "Show only the interfaces on this netstack."),
	END
};

static const struct cmd_opt ipv4_set_opts[] = {
	{ "gateway", 'g', CMD_STR, 0, 0, 0,
	  "The gateway of this interface (with --type static): used by traffic that leaves "
	  "through this interface, not part of the netstack's routing table." },
	IFACE_OPT(REQ, "The name of the interface."),
	{ "ipv4", 'I', CMD_STR, 0, 0, 0, "The static IPv4 address (with --type static)." },
	{ "netmask", 'N', CMD_STR, 0, 0, 0, "The IPv4 netmask (with --type static)." },
	{ "peer-dns", 'P', CMD_BOOL, 0, 0, 0,
	  "Use the DNS servers the DHCP server gives (with --type dhcp)." },
	{ "type", 't', CMD_STR, REQ, 0, 0,
	  "How the interface gets its IPv4 settings: dhcp (from a DHCP server), none (no IPv4), "
	  "static (requires --ipv4 and --netmask)." },
	END
};

static const struct cmd_opt ipv6_set_opts[] = {
	{ "enable-dhcpv6", 'd', CMD_BOOL, 0, 0, 0, "Use DHCPv6 to get IPv6 addresses." },
	{ "enable-router-adv", 'r', CMD_BOOL, 0, 0, 0,
	  "Configure IPv6 addresses from router advertisements." },
	IFACE_OPT(REQ, "The name of the interface."),
	{ "peer-dns", 'P', CMD_BOOL, 0, 0, 0, "Use the DNS servers the DHCPv6 server gives." },
	END
};

static const struct cmd_opt ipv6_address_opts[] = {
	IFACE_OPT(REQ, "The name of the interface."),
	{ "ipv6", 'I', CMD_STR, REQ, 0, 0, "The IPv6 address and prefix length: X:X::X/len." },
	END
};

static const struct cmd_opt ipv6_address_list_opts[] = {
	IFACE_OPT(0, "Show only the addresses of this interface."),
	END
};

static const struct cmd_opt tag_opts[] = {
	IFACE_OPT(REQ, "The name of the interface."),
	{ "tagname", 't', CMD_STR, REQ, 0, 0,
	  "The tag: Management, VMotion, faultToleranceLogging, vSphereReplication, "
	  "vSphereReplicationNFC, vSphereProvisioning, VSAN, VSANWitness, vSphereBackupNFC, PTP, "
	  "NVMeTCP or NVMeRDMA." },
	END
};

static const struct cmd_opt netstack_opts[] = {
	NETSTACK_OPT(REQ, "The name of the netstack."),
	END
};

static const struct cmd_opt netstack_set_opts[] = {
	{ "ccalgo", 'c', CMD_STR, 0, 0, 0,
	  "The TCP congestion control algorithm of the netstack: newreno or cubic." },
	{ "ipv6enabled", 'i', CMD_BOOL, 0, 0, 0, "Enable or disable IPv6 on the netstack." },
	{ "maxconn", 'm', CMD_LONG, RANGE(1, 1000000),
	  "The maximum number of TCP connections of the netstack. This value is in the range "
	  "(1 - 1000000)" },
	NETSTACK_OPT(REQ, "The name of the netstack."),
	END
};

static const struct cmd_opt dns_list_opts[] = {
	NETSTACK_OPT(0, "The netstack instance (default defaultTcpipStack)."),
	END
};

static const struct cmd_opt dns_server_add_opts[] = {
	NETSTACK_OPT(0, "The netstack instance (default defaultTcpipStack)."),
	{ "server", 's', CMD_STR, REQ, 0, 0, "The IPv4 or IPv6 address of the DNS server. A "
	  "netstack has at most 3 servers." },
	END
};

static const struct cmd_opt dns_server_remove_opts[] = {
	{ "all", 'a', CMD_FLAG, 0, 0, 0, "Remove all DNS servers of the netstack." },
	NETSTACK_OPT(0, "The netstack instance (default defaultTcpipStack)."),
	{ "server", 's', CMD_STR, 0, 0, 0, "The address of the DNS server to remove." },
	END
};

static const struct cmd_opt dns_search_opts[] = {
	{ "domain", 'd', CMD_STR, REQ, 0, 0, "The search domain." },
	NETSTACK_OPT(0, "The netstack instance (default defaultTcpipStack)."),
	END
};

static const struct cmd_opt route_list_opts[] = {
	NETSTACK_OPT(0, "The netstack whose routes to list (default defaultTcpipStack)."),
	END
};

static const struct cmd_opt route_opts[] = {
	{ "gateway", 'g', CMD_STR, REQ, 0, 0, "The IPv4 address of the gateway." },
	NETSTACK_OPT(0, "The netstack of the route (default defaultTcpipStack)."),
	{ "network", 'n', CMD_STR, REQ, 0, 0,
	  "The destination: default, or a network as a.b.c.d/len." },
	END
};

static const struct cmd_opt route6_opts[] = {
	{ "gateway", 'g', CMD_STR, REQ, 0, 0, "The IPv6 address of the gateway." },
	NETSTACK_OPT(0, "The netstack of the route (default defaultTcpipStack)."),
	{ "network", 'n', CMD_STR, REQ, 0, 0,
	  "The destination: default, or a network as X:X::X/len." },
	END
};

static const struct cmd_opt neighbor_list_opts[] = {
	IFACE_OPT(0, "List only the neighbors on this VMkernel network interface (its netstack "
		  "by default)."),
	NETSTACK_OPT(0, "The netstack whose neighbors to list (default defaultTcpipStack)."),
	{ "version", 'v', CMD_STR, 0, 0, 0,
	  "The IP version of the neighbors to list: 4 (ARP, the default), 6 (NDP) or all." },
	END
};

static const struct cmd_opt neighbor_remove_opts[] = {
	IFACE_OPT(0, "Remove the entry on this VMkernel network interface only (its netstack by "
		  "default)."),
	{ "neighbor-addr", 'a', CMD_STR, REQ, 0, 0, "The IPv4 or IPv6 address of the neighbor." },
	NETSTACK_OPT(0, "The netstack of the entry (default defaultTcpipStack)."),
	{ "version", 'v', CMD_STR, REQ, 0, 0, "The IP version of the address: 4 or 6." },
	END
};

static const struct cmd_opt connection_list_opts[] = {
	NETSTACK_OPT(0, "The netstack whose connections to list (default defaultTcpipStack)."),
	{ "type", 't', CMD_STR, 0, 0, 0,
	  "Connection type : [ip, tcp, udp, all] (default all)." },
	END
};

static const struct cmd_opt ping_opts[] = {
	{ "count", 'c', CMD_LONG, RANGE(1, 1000000), "Specify the number of packets to send." },
	{ "debug", 'D', CMD_FLAG, 0, 0, 0, "VMKPing debug mode: ping the netstack's loopback, "
	  "its adapters' addresses and its default gateway in turn (no --host)." },
	{ "df", 'd', CMD_FLAG, 0, 0, 0, "Set DF bit on IPv4 packets." },
	{ "host", 'H', CMD_STR, 0, 0, 0,
	  "Specify the host to send packets to. Required when not executing ping in debug "
	  "mode (-D)" },
	{ "interface", 'I', CMD_STR, 0, 0, 0, "Specify the outgoing interface." },
	{ "interval", 'i', CMD_STR, 0, 0, 0,
	  "Set the interval for sending packets in seconds." },
	{ "ipv4", 0, CMD_FLAG, 0, 0, 0, "Ping with ICMPv4 echo requests." },
	{ "ipv6", 0, CMD_FLAG, 0, 0, 0, "Ping with ICMPv6 echo requests." },
	{ "netstack", 0, CMD_STR, 0, 0, 0,
	  "Specify the TCP/IP netstack which the interface resides on" },
	{ "nexthop", 'N', CMD_STR, 0, 0, 0,
	  "Override the system's default route selection, in dotted quad notation. (IPv4 only. "
	  "Requires interface option)" },
	{ "size", 's', CMD_LONG, RANGE(0, 65507), "Set the payload size of the packets to send." },
	{ "ttl", 't', CMD_LONG, RANGE(1, 255), "Set IPv4 Time To Live or IPv6 Hop Limit" },
	{ "wait", 'W', CMD_STR, 0, 0, 0,
	  "Set the timeout to wait if no responses are received in seconds." },
	END
};

static const struct cmd_opt vm_kill_opts[] = {
	{ "type", 't', CMD_STR, REQ, 0, 0,
	  "The type of kill operation to attempt: soft (give the VMX process a chance to shut "
	  "down cleanly, like kill -SIGTERM), hard (stop the process immediately, like kill -9) "
	  "or force (the last resort)." },
	{ "world-id", 'w', CMD_LONG, REQ | CMD_RANGE, 1, 0x7fffffffLL,
	  "The World ID of the virtual machine to kill (vm process list)." },
	END
};

static const struct cmd_opt vm_port_list_opts[] = {
	{ "world-id", 'w', CMD_LONG, REQ | CMD_RANGE, 1, 0x7fffffffLL,
	  "The World ID of the virtual machine whose ports to list (vm process list)." },
	END
};

/* ---- commands ---- */

#define VS "network vswitch standard"
#define PG VS " portgroup"
#define IF "network ip interface"
#define NS "network ip netstack"
#define RT "network ip route ipv4"
#define RT6 "network ip route ipv6"

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
	{ "network nic", "get", "Get the generic configuration of a NIC: driver, link "
	  "settings, addresses.", nic_name_opts, OUT_STRUCT, "NICInfo", nic_get_fields },
	{ "network nic", "down", "Bring down a NIC (its admin state); a vSwitch sees its "
	  "link go down.", nic_name_opts, OUT_NONE, 0, 0 },
	{ "network nic", "up", "Bring up a NIC (its admin state).", nic_name_opts, OUT_NONE,
	  0, 0 },
	{ "network nic stats", "get", "Get the counters of a NIC.", nic_name_opts, OUT_STRUCT,
	  "NICStats", nic_stats_fields },
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
	{ "network diag", "ping", "Send ICMP echo requests to network hosts.", ping_opts,
	  OUT_STRUCT, "VMKPing", ping_fields },
	{ IF, "list", "List the VMkernel network interfaces currently known to the system.",
	  iface_list_opts, OUT_STRUCT_LIST, "NetworkInterface", vmknic_fields },
	{ IF, "get", "Show the details of one VMkernel network interface: its port, IPv4 and "
	  "IPv6 addresses and tags.", iface_one_opts, OUT_STRUCT, "NetworkInterfaceDetails",
	  vmknic_get_fields },
	{ IF, "add", "Add a new VMkernel network interface.", iface_add_opts, OUT_NONE, 0, 0 },
	{ IF, "remove", "Remove a VMkernel network interface.", iface_remove_opts, OUT_NONE,
	  0, 0 },
	{ IF, "set", "This command sets the enabled status and MTU size of a given VMkernel "
	  "network interface.", iface_set_opts, OUT_NONE, 0, 0 },
	{ IF " ipv4", "get", "Get IPv4 settings for VMkernel network interfaces.",
	  iface_filter_opts, OUT_TABLE, "IPv4Interface", ipv4_fields },
	{ IF " ipv4", "set", "Configure IPv4 setting for a given VMkernel network interface.",
	  ipv4_set_opts, OUT_NONE, 0, 0 },
	{ IF " ipv6", "get", "Get IPv6 settings for VMkernel network interfaces.",
	  iface_filter_opts, OUT_TABLE, "IPv6Interface", ipv6_fields },
	{ IF " ipv6", "set", "Configure IPv6 settings for a given VMkernel network interface.",
	  ipv6_set_opts, OUT_NONE, 0, 0 },
	{ IF " ipv6 address", "list", "List the static IPv6 addresses of the VMkernel network "
	  "interfaces.", ipv6_address_list_opts, OUT_TABLE, "IPv6Address", ipv6_address_fields },
	{ IF " ipv6 address", "add", "Add a static IPv6 address to a VMkernel network "
	  "interface.", ipv6_address_opts, OUT_NONE, 0, 0 },
	{ IF " ipv6 address", "remove", "Remove a static IPv6 address from a VMkernel network "
	  "interface.", ipv6_address_opts, OUT_NONE, 0, 0 },
	{ IF " tag", "add", "Adds a tag on a given VMkernel network interface.", tag_opts,
	  OUT_NONE, 0, 0 },
	{ IF " tag", "get", "Gets the tags set on the given VMkernel network interface.",
	  iface_one_opts, OUT_STRUCT, "TagGet", tag_fields },
	{ IF " tag", "remove", "Removes a tag from a given VMkernel network interface.", tag_opts,
	  OUT_NONE, 0, 0 },
	{ NS, "list", "List the netstack instances of the host.", no_opts, OUT_STRUCT_LIST,
	  "NetStackInstance", netstack_list_fields },
	{ NS, "add", "Add a new netstack instance (a TCP/IP stack of its own).", netstack_opts,
	  OUT_NONE, 0, 0 },
	{ NS, "remove", "Remove a netstack instance that no interface uses.", netstack_opts,
	  OUT_NONE, 0, 0 },
	{ NS, "get", "Get the settings of a netstack instance.", netstack_opts, OUT_STRUCT,
	  "NetStackInstance", netstack_get_fields },
	{ NS, "set", "Change the settings of a netstack instance.", netstack_set_opts, OUT_NONE,
	  0, 0 },
	{ "storage filesystem", "list", "List the datastores of the host: a directory each, on "
	  "the Linux file system it lies in.", no_opts, OUT_TABLE, "FilesystemVolume",
	  filesystem_fields },
	{ RT, "list", "List the IPv4 routes of a netstack.", route_list_opts, OUT_TABLE,
	  "IPv4Route", route_fields },
	{ RT, "add", "Add an IPv4 route to a netstack.", route_opts, OUT_NONE, 0, 0 },
	{ RT, "remove", "Remove an IPv4 route from a netstack.", route_opts, OUT_NONE, 0, 0 },
	{ RT6, "list", "List the IPv6 routes of a netstack.", route_list_opts, OUT_TABLE,
	  "IPv6Route", route6_fields },
	{ RT6, "add", "Add an IPv6 route to a netstack.", route6_opts, OUT_NONE, 0, 0 },
	{ RT6, "remove", "Remove an IPv6 route from a netstack.", route6_opts, OUT_NONE, 0, 0 },
	{ "network ip dns server", "list", "List the DNS servers of a netstack, in the order "
	  "the resolver tries them.", dns_list_opts, OUT_STRUCT, "ServerList", dns_server_fields },
	{ "network ip dns server", "add", "Add a DNS server to the end of a netstack's list.",
	  dns_server_add_opts, OUT_NONE, 0, 0 },
	{ "network ip dns server", "remove", "Remove a DNS server (or all of them) from a "
	  "netstack's list.", dns_server_remove_opts, OUT_NONE, 0, 0 },
	{ "network ip dns search", "list", "List the search domains of a netstack, in the "
	  "order they are tried.", dns_list_opts, OUT_STRUCT, "DomainList", dns_search_fields },
	{ "network ip dns search", "add", "Add a search domain to the end of a netstack's "
	  "list.", dns_search_opts, OUT_NONE, 0, 0 },
	{ "network ip dns search", "remove", "Remove a search domain from a netstack's list.",
	  dns_search_opts, OUT_NONE, 0, 0 },
	{ "network ip neighbor", "list", "List ARP table entries", neighbor_list_opts,
	  OUT_TABLE, "Neighbor", neighbor_fields },
	{ "network ip neighbor", "remove", "Remove ARP table entries", neighbor_remove_opts,
	  OUT_NONE, 0, 0 },
	{ "network ip connection", "list", "List active tcpip connections",
	  connection_list_opts, OUT_TABLE, "Connection", connection_fields },
	{ "vm process", "list", "List the virtual machines running on this host: their world, "
	  "vmx process and configuration file.", no_opts, OUT_STRUCT_LIST, "VirtualMachine",
	  vm_process_fields },
	{ "vm process", "kill", "Kill the vmx process of a running virtual machine: try soft "
	  "first, then hard, then force.", vm_kill_opts, OUT_NONE, 0, 0 },
	{ "network vm", "list", "List the running virtual machines with network ports, and "
	  "the port groups they use.", no_opts, OUT_TABLE, "VM", network_vm_fields },
	{ "network vm port", "list", "List the virtual switch ports of a running virtual "
	  "machine.", vm_port_list_opts, OUT_STRUCT_LIST, "Port", network_vm_port_fields },
	{ 0 }
};

const struct cmd_table esxcli_table = { "esxcli", namespaces, cmds };
