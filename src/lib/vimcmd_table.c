/*
 * The vim-cmd command tree that vmk implements (vimcmd_table.h): the
 * reference's vmsvc/ and solo/ commands for the VM inventory and power
 * (shared/reference/esxcli.md, section 8.3), and hostsvc/datastore/ for
 * the datastores those VMs live in (a directory each on vmk, as the
 * reference's local datastores are made with localcreate).  A nested
 * namespace is written with spaces here ("hostsvc datastore", so that
 * its method is "hostsvc.datastore.localcreate") and with slashes on
 * vim-cmd's command line.  vim-cmd takes arguments by
 * position; the options here are those positions, in order, and their
 * long names are the params of the JSON-RPC method (docs/vms.md).
 * How each command's result is printed is vim-cmd's (src/cli/vimcmd.c).
 */
#include "vimcmd_table.h"

#define END { 0 }
#define FLD(key, label, type) { (key), (label), (type), 0, 0, 0 }
#define VMID_MAX 0x7fffffffLL

static const struct cmd_ns namespaces[] = {
	{ "hostsvc", "Operations on the host." },
	{ "hostsvc datastore", "The host's datastores: list, create from a directory, remove." },
	{ "solo", "Registration of virtual machines in the host's inventory." },
	{ "vmsvc", "Operations on the virtual machines of the inventory: list, power, "
	  "summary, guest information, reload, unregister." },
	{ 0 }
};

static const struct cmd_opt no_args[] = { END };

static const struct cmd_opt vmid_args[] = {
	{ "vmid", 0, CMD_LONG, CMD_REQUIRED | CMD_RANGE, 1, VMID_MAX,
	  "The id of the virtual machine (vmsvc/getallvms)." },
	END
};

static const struct cmd_opt register_args[] = {
	{ "path", 0, CMD_STR, CMD_REQUIRED, 0, 0,
	  "The .vmx file of the virtual machine, inside a datastore." },
	{ "name", 0, CMD_STR, 0, 0, 0,
	  "The name of the virtual machine in the inventory (default: its displayName)." },
	END
};

static const struct cmd_opt ds_create_args[] = {
	{ "name", 0, CMD_STR, CMD_REQUIRED, 0, 0,
	  "The name of the new datastore (as in [name] dir/vm.vmx)." },
	{ "path", 0, CMD_STR, CMD_REQUIRED, 0, 0,
	  "An existing directory, by its absolute path." },
	END
};

static const struct cmd_opt ds_name_args[] = {
	{ "name", 0, CMD_STR, CMD_REQUIRED, 0, 0, "The name of the datastore." },
	END
};

static const struct cmd_field ds_fields[] = {
	FLD("name", "Name", FIELD_STR),
	FLD("url", "URL", FIELD_STR),
	FLD("capacity", "Capacity", FIELD_INT),
	FLD("free_space", "Free Space", FIELD_INT),
	FLD("type", "Type", FIELD_STR),
	FLD("accessible", "Accessible", FIELD_BOOL),
	FLD("uuid", "UUID", FIELD_STR),
	END
};

static const struct cmd_field getallvms_fields[] = {
	FLD("vmid", "Vmid", FIELD_INT),
	FLD("name", "Name", FIELD_STR),
	FLD("file", "File", FIELD_STR),
	FLD("guest_os", "Guest OS", FIELD_STR),
	FLD("version", "Version", FIELD_STR),
	FLD("annotation", "Annotation", FIELD_STR),
	END
};

static const struct cmd_field getstate_fields[] = {
	FLD("state", "State", FIELD_STR),
	END
};

/* What vmkd returns; vim-cmd prints it as a (vim.vm.Summary) dump. */
static const struct cmd_field summary_fields[] = {
	FLD("vmid", "Vmid", FIELD_INT),
	FLD("name", "Name", FIELD_STR),
	FLD("file", "File", FIELD_STR),
	FLD("vmx_path", "VMX Path", FIELD_STR),
	FLD("guest_os", "Guest OS", FIELD_STR),
	FLD("version", "Version", FIELD_STR),
	FLD("annotation", "Annotation", FIELD_STR),
	FLD("power_state", "Power State", FIELD_STR),
	FLD("memory_mb", "Memory MB", FIELD_INT),
	FLD("num_cpu", "Num CPU", FIELD_INT),
	FLD("num_ethernet", "Num Ethernet", FIELD_INT),
	FLD("num_disks", "Num Disks", FIELD_INT),
	FLD("uuid", "UUID", FIELD_STR),
	FLD("pid", "Process ID", FIELD_INT),
	FLD("world_id", "World ID", FIELD_INT),
	END
};

/* What vmkd returns; vim-cmd prints it as a (vim.vm.GuestInfo) dump. */
static const struct cmd_field nic_fields[] = {
	FLD("network", "Network", FIELD_STR),
	FLD("mac_address", "MAC Address", FIELD_STR),
	FLD("connected", "Connected", FIELD_BOOL),
	FLD("device_config_id", "Device Config ID", FIELD_INT),
	FLD("ip_address", "IP Address", FIELD_LIST),
	END
};

static const struct cmd_field guest_fields[] = {
	FLD("vmid", "Vmid", FIELD_INT),
	FLD("tools_status", "Tools Status", FIELD_STR),
	FLD("tools_version_status2", "Tools Version Status2", FIELD_STR),
	FLD("tools_running_status", "Tools Running Status", FIELD_STR),
	FLD("guest_id", "Guest ID", FIELD_STR),
	FLD("guest_full_name", "Guest Full Name", FIELD_STR),
	FLD("host_name", "Host Name", FIELD_STR),
	FLD("ip_address", "IP Address", FIELD_STR),
	FLD("guest_state", "Guest State", FIELD_STR),
	{ "net", "Net", FIELD_STRUCT_LIST, 0, nic_fields, "NicInfo" },
	END
};

static const struct cmd_field register_fields[] = {
	FLD("vmid", "Vmid", FIELD_INT),
	END
};

static const struct cmd cmds[] = {
	{ "vmsvc", "getallvms", "Get the list of all virtual machines on the host.", no_args,
	  OUT_TABLE, "VirtualMachine", getallvms_fields },
	{ "vmsvc", "power.on", "Power on the specified virtual machine.", vmid_args, OUT_NONE,
	  0, 0 },
	{ "vmsvc", "power.off", "Power off the specified virtual machine at once.", vmid_args,
	  OUT_NONE, 0, 0 },
	{ "vmsvc", "power.shutdown", "Ask the guest of the specified virtual machine to shut "
	  "down; the virtual machine is powered off once the guest has.",
	  vmid_args, OUT_NONE, 0, 0 },
	{ "vmsvc", "power.reset", "Reset the specified virtual machine.", vmid_args,
	  OUT_NONE, 0, 0 },
	{ "vmsvc", "power.reboot", "Ask the guest of the specified virtual machine to restart "
	  "(through VMware Tools, which vmk's guests do not run: use power.reset or "
	  "power.shutdown).", vmid_args, OUT_NONE, 0, 0 },
	{ "vmsvc", "power.getstate", "Get the power state of the specified virtual machine.",
	  vmid_args, OUT_STRUCT, "PowerState", getstate_fields },
	{ "vmsvc", "get.summary", "Get the summary of the specified virtual machine.",
	  vmid_args, OUT_STRUCT, "Summary", summary_fields },
	{ "vmsvc", "get.guest", "Get the guest information of the specified virtual machine: "
	  "tools, guest OS and state, network adapters.", vmid_args, OUT_STRUCT, "GuestInfo",
	  guest_fields },
	{ "vmsvc", "reload", "Read the .vmx file of the specified virtual machine again and "
	  "update the inventory (a running virtual machine uses the changes from its next "
	  "power-on).", vmid_args, OUT_NONE, 0, 0 },
	{ "vmsvc", "unregister", "Remove the specified virtual machine from the inventory "
	  "(its files stay).", vmid_args, OUT_NONE, 0, 0 },
	{ "hostsvc datastore", "listsummary", "Get the summary of every datastore of the host.",
	  no_args, OUT_STRUCT_LIST, "DatastoreSummary", ds_fields },
	{ "hostsvc datastore", "localcreate", "Make an existing directory a datastore of the "
	  "host.", ds_create_args, OUT_NONE, 0, 0 },
	{ "hostsvc datastore", "remove", "Remove a datastore that holds no registered virtual "
	  "machine (its files stay).", ds_name_args, OUT_NONE, 0, 0 },
	{ "solo", "registervm", "Register a virtual machine (its .vmx file) in the inventory; "
	  "prints its new vmid.", register_args, OUT_STRUCT, "Registration", register_fields },
	{ 0 }
};

const struct cmd_table vimcmd_table = { "vim-cmd", namespaces, cmds };
