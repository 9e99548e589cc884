/*
 * The VM a .vmx describes, checked: vmx_vm_config_from() and
 * vmx_vm_generate() (vmxfile.h; the keys are listed in docs/vms.md).
 *
 * Each concern of the file has its own reader below (machine, disks,
 * network adapters, serial port, vmk's boot keys, sched.*), all built on
 * a few typed getters that turn a bad value into one message naming the
 * file, the line and the key.  Defaults are VMware's where VMware has
 * one (memsize 32, one vCPU, adapters and disks absent unless
 * `.present` says TRUE).  Keys vmk does not use are not looked at: they
 * stay in the file untouched.
 */
#include "vmxfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct cfg {
	const struct vmxfile *f;
	const char *vm_dir;
	char *err;
	size_t errlen;
};

static int kerr(const struct cfg *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "NAME:LINE: KEY: message" (no LINE when the key is absent); -1. */
static int kerr(const struct cfg *c, const char *key, const char *fmt, ...)
{
	unsigned line = vmxfile_line(c->f, key);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->err || !c->errlen)
		return -1;
	if (line)
		snprintf(c->err, c->errlen, "%s:%u: %s: %s", vmxfile_name(c->f), line, key, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s: %s", vmxfile_name(c->f), key, msg);
	/* One line, whatever the value or the file name quoted holds
	 * (|0A decodes to a newline). */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

int vmx_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1" }, *const no[] = { "false", "no", "0" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -1;
}

/* ---- typed getters ------------------------------------------------- */

static int get_bool(const struct cfg *c, const char *key, bool def, bool *out)
{
	const char *v = vmxfile_get(c->f, key);

	*out = def;
	if (v && vmx_parse_bool(v, out) < 0)
		return kerr(c, key, "expected TRUE or FALSE, not \"%s\"", v);
	return 0;
}

/* A decimal number in [min, max]; def when absent. */
static int get_uint(const struct cfg *c, const char *key, unsigned min, unsigned max,
		    unsigned def, unsigned *out)
{
	const char *v = vmxfile_get(c->f, key);
	unsigned long long n = 0;

	*out = def;
	if (!v)
		return 0;
	if (!*v)
		return kerr(c, key, "expected a number from %u to %u, not \"\"", min, max);
	for (const char *p = v; *p; p++) {
		if (!isdigit((unsigned char)*p) || n > 10000000000ull)
			return kerr(c, key, "expected a number from %u to %u, not \"%s\"", min,
				    max, v);
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (n < min || n > max)
		return kerr(c, key, "%s is out of range (%u to %u)", v, min, max);
	*out = (unsigned)n;
	return 0;
}

/* A string that must fit in size bytes (with its NUL); def when absent. */
static int get_str(const struct cfg *c, const char *key, char *buf, size_t size,
		   const char *def)
{
	const char *v = vmxfile_get(c->f, key);

	if (!v)
		v = def;
	if (strlen(v) >= size)
		return kerr(c, key, "longer than %zu bytes", size - 1);
	memcpy(buf, v, strlen(v) + 1);
	return 0;
}

/* A name shown in one-line listings and logs (displayName, guestOS): a
 * string as get_str, without control bytes. */
static int get_name(const struct cfg *c, const char *key, char *buf, size_t size,
		    const char *def)
{
	if (get_str(c, key, buf, size, def) < 0)
		return -1;
	for (const char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return kerr(c, key, "control character (byte 0x%02x) in the name",
				    (unsigned char)*p);
	return 0;
}

enum path_kind {
	PATH_FILE,       /* must be a regular file */
	PATH_IMAGE,      /* a regular file or a block device */
	PATH_NEW,        /* may not exist; its folder must */
};

/* Makes path absolute: relative paths are inside the VM folder. */
static int resolve(const struct cfg *c, const char *key, const char *v, char *buf, size_t size)
{
	int n;

	if (!*v)
		return kerr(c, key, "empty path");
	n = v[0] == '/' ? snprintf(buf, size, "%s", v) : snprintf(buf, size, "%s/%s", c->vm_dir, v);
	if (n < 0 || (size_t)n >= size)
		return kerr(c, key, "path longer than %zu bytes", size - 1);
	return 0;
}

static int check_path(const struct cfg *c, const char *key, const char *path, enum path_kind kind)
{
	struct stat st;

	if (kind == PATH_NEW) {
		char dir[VMX_PATH_MAX];
		const char *slash = strrchr(path, '/');

		snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			return kerr(c, key, "folder %s does not exist", dir);
		return 0;
	}
	if (stat(path, &st) < 0)
		return kerr(c, key, "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode) || (kind == PATH_IMAGE && S_ISBLK(st.st_mode)))
		return 0;
	return kerr(c, key, "%s is not a %s", path,
		    kind == PATH_IMAGE ? "file or block device" : "regular file");
}

/* Reads key as a path of the given kind into buf; "" when absent. */
static int get_path(const struct cfg *c, const char *key, enum path_kind kind, char *buf,
		    size_t size)
{
	const char *v = vmxfile_get(c->f, key);

	buf[0] = '\0';
	if (!v)
		return 0;
	if (resolve(c, key, v, buf, size) < 0)
		return -1;
	return check_path(c, key, buf, kind);
}

/* ---- machine ------------------------------------------------------- */

static int read_uuid(const struct cfg *c, struct vmx_vm_config *out)
{
	const char *v = vmxfile_get(c->f, "uuid.bios");

	out->has_uuid = v != NULL;
	if (v && vmx_uuid_parse(v, out->uuid_bios) < 0)
		return kerr(c, "uuid.bios",
			    "expected 16 hex bytes like \"56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71\"");
	return 0;
}

static int read_machine(const struct cfg *c, struct vmx_vm_config *out)
{
	const char *slash = strrchr(c->vm_dir, '/');
	const char *folder = slash && slash[1] ? slash + 1 : c->vm_dir;

	if (get_name(c, "displayName", out->display_name, sizeof(out->display_name), folder) < 0 ||
	    get_name(c, "guestOS", out->guest_os, sizeof(out->guest_os), "other") < 0 ||
	    get_str(c, "annotation", out->annotation, sizeof(out->annotation), "") < 0 ||
	    get_uint(c, "virtualHW.version", 1, 255, 0, &out->hw_version) < 0 ||
	    get_uint(c, "numvcpus", 1, VMX_VCPUS_MAX, 1, &out->numvcpus) < 0 ||
	    get_uint(c, "memsize", 4, VMX_MEMSIZE_MAX_MB, VMX_MEMSIZE_DEFAULT_MB,
		     &out->memsize_mb) < 0)
		return -1;
	if (out->memsize_mb % 4)
		return kerr(c, "memsize", "%u MB is not a multiple of 4", out->memsize_mb);
	return read_uuid(c, out);
}

/* ---- disks ---------------------------------------------------------- */

struct bus {
	const char *name;
	unsigned controllers, units, skip_unit; /* skip_unit: the controller's own id */
};

/* The buses and unit numbers VMware allows (scsiN:7 is the HBA itself). */
static const struct bus buses[] = {
	{ "scsi", 4, 16, 7 },
	{ "sata", 4, 30, ~0u },
	{ "nvme", 4, 15, ~0u },
	{ "ide", 2, 2, ~0u },
};

/* A VMDK (descriptor or sparse extent) is not a raw image: say so. */
static int check_raw(const struct cfg *c, const char *key, const char *path)
{
	char head[24] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return kerr(c, key, "%s: %s", path, strerror(errno));
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n >= 4 && (memcmp(head, "KDMV", 4) == 0 || memcmp(head, "COWD", 4) == 0 ||
		       strncmp(head, "# Disk DescriptorFile", 21) == 0))
		return kerr(c, key, "%s is a VMDK; vmk runs raw disk images only", path);
	return 0;
}

/* Reads one disk node ("scsi0:0"); *used is false when it is absent. */
static int read_disk(const struct cfg *c, const char *node, struct vmx_disk *d, bool *used)
{
	char key[64];
	const char *type, *mode, *file;
	bool present, connected;

	*used = false;
	snprintf(key, sizeof(key), "%s.present", node);
	if (get_bool(c, key, false, &present) < 0)
		return -1;
	if (!present)
		return 0;
	snprintf(key, sizeof(key), "%s.startConnected", node);
	if (get_bool(c, key, true, &connected) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s.deviceType", node);
	type = vmxfile_get(c->f, key);
	d->readonly = false;
	if (type && (strcasecmp(type, "atapi-cdrom") == 0 || strcasecmp(type, "cdrom-raw") == 0))
		return 0; /* a host CD drive: vmk passes none through */
	if (type && strcasecmp(type, "cdrom-image") == 0)
		d->readonly = true;
	else if (type && strcasecmp(type, "scsi-hardDisk") && strcasecmp(type, "ata-hardDisk") &&
		 strcasecmp(type, "disk"))
		return kerr(c, key, "unsupported device type \"%s\"", type);
	if (!connected)
		return 0;
	snprintf(key, sizeof(key), "%s.mode", node);
	mode = vmxfile_get(c->f, key);
	if (mode && strcasecmp(mode, "persistent") && strcasecmp(mode, "independent-persistent"))
		return kerr(c, key, "mode \"%s\" is not supported (persistent only)", mode);
	snprintf(key, sizeof(key), "%s.fileName", node);
	file = vmxfile_get(c->f, key);
	if (!file)
		return kerr(c, key, "required when %s.present is TRUE", node);
	if (resolve(c, key, file, d->path, sizeof(d->path)) < 0 ||
	    check_path(c, key, d->path, PATH_IMAGE) < 0 || check_raw(c, key, d->path) < 0)
		return -1;
	if (strlen(node) >= sizeof(d->node))
		return kerr(c, key, "device node name too long");
	memcpy(d->node, node, strlen(node) + 1);
	*used = true;
	return 0;
}

static int read_controller(const struct cfg *c, const struct bus *b, unsigned n,
			   struct vmx_vm_config *out)
{
	char ctl[16], key[48], node[32];
	bool present;

	snprintf(ctl, sizeof(ctl), "%s%u", b->name, n);
	snprintf(key, sizeof(key), "%s.present", ctl);
	if (get_bool(c, key, true, &present) < 0)
		return -1;
	for (unsigned u = 0; u < b->units; u++) {
		struct vmx_disk d;
		bool used;

		if (u == b->skip_unit)
			continue;
		snprintf(node, sizeof(node), "%s:%u", ctl, u);
		if (read_disk(c, node, &d, &used) < 0)
			return -1;
		if (!used)
			continue;
		if (!present)
			return kerr(c, key, "%s is not present but %s is", ctl, node);
		if (out->nr_disks == VMXFILE_MAX_DISKS) {
			snprintf(key, sizeof(key), "%s.present", node);
			return kerr(c, key, "more than %d disks", VMXFILE_MAX_DISKS);
		}
		out->disks[out->nr_disks++] = d;
	}
	return 0;
}

static int read_disks(const struct cfg *c, struct vmx_vm_config *out)
{
	for (size_t i = 0; i < sizeof(buses) / sizeof(buses[0]); i++)
		for (unsigned n = 0; n < buses[i].controllers; n++)
			if (read_controller(c, &buses[i], n, out) < 0)
				return -1;
	return 0;
}

/* A `.present = TRUE` device vmk would not look at must not pass
 * silently: ethernet10 or scsi0:7 would just vanish from the VM. */
struct unknown_dev {
	const struct cfg *c;
};

static bool parse_node(const char *s, char *bus, size_t blen, unsigned *ctl, unsigned *unit,
		       bool *has_unit)
{
	size_t i = 0;
	char *end;

	while (isalpha((unsigned char)s[i]) && i + 1 < blen)
		bus[i] = s[i], i++;
	bus[i] = '\0';
	if (i == 0 || !isdigit((unsigned char)s[i]))
		return false;
	*ctl = (unsigned)strtoul(s + i, &end, 10);
	*has_unit = *end == ':';
	if (*has_unit) {
		if (!isdigit((unsigned char)end[1]))
			return false;
		*unit = (unsigned)strtoul(end + 1, &end, 10);
	}
	return strcasecmp(end, ".present") == 0;
}

static int check_unknown_dev(const char *key, const char *value, unsigned line, void *arg)
{
	const struct cfg *c = ((struct unknown_dev *)arg)->c;
	char bus[16];
	unsigned ctl, unit = 0;
	bool has_unit, present;

	(void)line;
	if (!parse_node(key, bus, sizeof(bus), &ctl, &unit, &has_unit) ||
	    vmx_parse_bool(value, &present) < 0 || !present)
		return 0;
	if (strcasecmp(bus, "ethernet") == 0 && !has_unit && ctl >= VMXFILE_MAX_NICS)
		return kerr(c, key, "vmk supports ethernet0 to ethernet%d", VMXFILE_MAX_NICS - 1);
	for (size_t i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		const struct bus *b = &buses[i];

		if (strcasecmp(bus, b->name) != 0)
			continue;
		if (ctl >= b->controllers || (has_unit && (unit >= b->units || unit == b->skip_unit)))
			return kerr(c, key, "no such %s device node", b->name);
	}
	return 0;
}

/* ---- network adapters ---------------------------------------------- */

static const char *const virtual_devs[] = {
	"vlance", "vmxnet", "vmxnet2", "vmxnet3", "e1000", "e1000e", "virtio", NULL,
};

static int nic_key(char *buf, size_t len, unsigned n, const char *what)
{
	return snprintf(buf, len, "ethernet%u.%s", n, what);
}

static int read_mac_key(const struct cfg *c, const char *key, uint8_t mac[6])
{
	const char *v = vmxfile_get(c->f, key);

	if (!v)
		return kerr(c, key, "required for this addressType");
	if (vmx_mac_parse(v, mac) < 0)
		return kerr(c, key, "\"%s\" is not a MAC address like 00:50:56:12:34:56", v);
	if (!vmx_mac_is_unicast(mac))
		return kerr(c, key, "%s is not a unicast address", v);
	return 0;
}

/* The offset of a generated address: the file's, else 10 * N. */
static int gen_offset(const struct cfg *c, unsigned n, unsigned *off)
{
	char key[48];

	nic_key(key, sizeof(key), n, "generatedAddressOffset");
	return get_uint(c, key, 0, 0xffffff, VMX_GENERATED_OFFSET_STEP * n, off);
}

static int read_address(const struct cfg *c, unsigned n, const struct vmx_vm_config *cfg,
			struct vmx_nic *nic)
{
	char key[48], check_key[48];
	const char *type;
	bool check;

	nic_key(key, sizeof(key), n, "addressType");
	type = vmxfile_get(c->f, key);
	nic_key(check_key, sizeof(check_key), n, "checkMACAddress");
	if (get_bool(c, check_key, true, &check) < 0)
		return -1;
	if (!type || strcasecmp(type, "generated") == 0) {
		unsigned off;

		nic_key(key, sizeof(key), n, "generatedAddress");
		nic->address_type = VMX_ADDR_GENERATED;
		if (vmxfile_get(c->f, key))
			return read_mac_key(c, key, nic->mac);
		if (!cfg->has_uuid)
			return kerr(c, key, "absent, and uuid.bios is absent to generate it from");
		if (gen_offset(c, n, &off) < 0)
			return -1;
		vmx_mac_generated(cfg->uuid_bios, off, nic->mac);
		return 0;
	}
	if (strcasecmp(type, "static") == 0) {
		nic->address_type = VMX_ADDR_STATIC;
		nic_key(key, sizeof(key), n, "address");
		if (read_mac_key(c, key, nic->mac) < 0)
			return -1;
		if (check && !vmx_mac_is_static_range(nic->mac))
			return kerr(c, key, "a static address must lie in 00:50:56:00:00:00-00:50:56:3f:ff:ff (or set %s = \"FALSE\")",
				    check_key);
		return 0;
	}
	if (strcasecmp(type, "vpx") == 0) {
		nic->address_type = VMX_ADDR_VPX;
		nic_key(key, sizeof(key), n, "generatedAddress");
		if (read_mac_key(c, key, nic->mac) < 0)
			return -1;
		if (check && !vmx_mac_is_vpx_range(nic->mac))
			return kerr(c, key, "a vpx address must lie in 00:50:56:80:00:00-00:50:56:bf:ff:ff (or set %s = \"FALSE\")",
				    check_key);
		return 0;
	}
	return kerr(c, key, "expected generated, static or vpx, not \"%s\"", type);
}

static int read_virtual_dev(const struct cfg *c, unsigned n, struct vmx_nic *nic)
{
	char key[48];
	const char *v;

	nic_key(key, sizeof(key), n, "virtualDev");
	v = vmxfile_get(c->f, key);
	nic->virtual_dev[0] = '\0';
	if (!v)
		return 0;
	for (size_t i = 0; virtual_devs[i]; i++) {
		if (strcasecmp(v, virtual_devs[i]) == 0) {
			snprintf(nic->virtual_dev, sizeof(nic->virtual_dev), "%s", virtual_devs[i]);
			return 0;
		}
	}
	return kerr(c, key, "unknown adapter type \"%.64s\" (vmxnet3, e1000, e1000e, vlance, vmxnet, vmxnet2, virtio)",
		    v);
}

static int read_nic(const struct cfg *c, unsigned n, const struct vmx_vm_config *cfg,
		    struct vmx_nic *nic)
{
	char key[48];

	memset(nic, 0, sizeof(*nic));
	nic->index = n;
	nic_key(key, sizeof(key), n, "present");
	if (get_bool(c, key, false, &nic->present) < 0)
		return -1;
	if (!nic->present)
		return 0;
	nic_key(key, sizeof(key), n, "startConnected");
	if (get_bool(c, key, true, &nic->start_connected) < 0)
		return -1;
	nic_key(key, sizeof(key), n, "networkName");
	if (!vmxfile_get(c->f, key) || !*vmxfile_get(c->f, key))
		return kerr(c, key, "required when ethernet%u.present is TRUE (the port group)", n);
	if (get_str(c, key, nic->network_name, sizeof(nic->network_name), "") < 0)
		return -1;
	if (read_virtual_dev(c, n, nic) < 0)
		return -1;
	return read_address(c, n, cfg, nic);
}

static int read_nics(const struct cfg *c, struct vmx_vm_config *out)
{
	for (unsigned n = 0; n < VMXFILE_MAX_NICS; n++) {
		struct vmx_nic nic;

		if (read_nic(c, n, out, &nic) < 0)
			return -1;
		if (!nic.present)
			continue;
		for (unsigned i = 0; i < out->nr_nics; i++) {
			if (memcmp(out->nics[i].mac, nic.mac, 6) == 0) {
				char key[48], mac[18];

				vmx_mac_format(nic.mac, mac);
				nic_key(key, sizeof(key), n, "present");
				return kerr(c, key, "MAC %s is ethernet%u's too", mac,
					    out->nics[i].index);
			}
		}
		out->nics[out->nr_nics++] = nic;
	}
	return 0;
}

/* ---- serial port ----------------------------------------------------- */

#define SUN_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */

static int read_serial(const struct cfg *c, struct vmx_vm_config *out)
{
	const char *type;
	bool present, connected;

	out->serial_type = VMX_SERIAL_NONE;
	if (get_bool(c, "serial0.present", false, &present) < 0 ||
	    get_bool(c, "serial0.startConnected", true, &connected) < 0)
		return -1;
	if (!present || !connected)
		return 0;
	type = vmxfile_get(c->f, "serial0.fileType");
	if (!type)
		return kerr(c, "serial0.fileType", "required when serial0.present is TRUE (file or pipe)");
	if (strcasecmp(type, "file") == 0)
		out->serial_type = VMX_SERIAL_FILE;
	else if (strcasecmp(type, "pipe") == 0)
		out->serial_type = VMX_SERIAL_PIPE;
	else
		return kerr(c, "serial0.fileType", "expected file or pipe, not \"%.64s\"", type);
	if (!vmxfile_get(c->f, "serial0.fileName"))
		return kerr(c, "serial0.fileName", "required when serial0.present is TRUE");
	if (get_path(c, "serial0.fileName", PATH_NEW, out->serial_path, sizeof(out->serial_path)) < 0)
		return -1;
	if (out->serial_type == VMX_SERIAL_PIPE && strlen(out->serial_path) >= SUN_PATH_MAX)
		return kerr(c, "serial0.fileName", "a pipe's path must be shorter than %d bytes",
			    SUN_PATH_MAX);
	return 0;
}

/* ---- vmk's boot keys --------------------------------------------------- */

static int read_boot(const struct cfg *c, struct vmx_vm_config *out)
{
	if (!vmxfile_get(c->f, "vmk.kernel"))
		return kerr(c, "vmk.kernel", "required (vmx boots a kernel image directly)");
	if (get_path(c, "vmk.kernel", PATH_FILE, out->kernel, sizeof(out->kernel)) < 0 ||
	    get_path(c, "vmk.initrd", PATH_FILE, out->initrd, sizeof(out->initrd)) < 0 ||
	    get_str(c, "vmk.cmdline", out->cmdline, sizeof(out->cmdline), "") < 0 ||
	    get_bool(c, "vmk.debugExit", false, &out->debug_exit) < 0)
		return -1;
	for (const char *p = out->cmdline; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return kerr(c, "vmk.cmdline", "control character in the command line");
	return 0;
}

/* ---- sched.* -------------------------------------------------------------- */

/* A number, or "unlimited" (0, no limit), for the limits. */
static int get_limit(const struct cfg *c, const char *key, unsigned max, unsigned *out)
{
	const char *v = vmxfile_get(c->f, key);

	if (v && strcasecmp(v, "unlimited") == 0) {
		*out = 0;
		return 0;
	}
	return get_uint(c, key, 0, max, 0, out);
}

static int read_shares(const struct cfg *c, const struct vmx_vm_config *cfg, unsigned *out)
{
	static const struct { const char *name; unsigned per_vcpu; } levels[] = {
		{ "low", 500 }, { "normal", 1000 }, { "high", 2000 },
	};
	const char *v = vmxfile_get(c->f, "sched.cpu.shares");

	*out = 0;
	if (!v)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(v, levels[i].name) == 0) {
			*out = levels[i].per_vcpu * cfg->numvcpus;
			return 0;
		}
	}
	if (!isdigit((unsigned char)v[0]))
		return kerr(c, "sched.cpu.shares", "expected low, normal, high or a number, not \"%.64s\"", v);
	return get_uint(c, "sched.cpu.shares", 1, 1000000, 0, out);
}

static int read_sched(const struct cfg *c, struct vmx_vm_config *out)
{
	struct vmx_sched *s = &out->sched;

	if (read_shares(c, out, &s->cpu_shares) < 0 ||
	    get_uint(c, "sched.cpu.min", 0, 100000000, 0, &s->cpu_min_mhz) < 0 ||
	    get_limit(c, "sched.cpu.max", 100000000, &s->cpu_max_mhz) < 0 ||
	    get_uint(c, "sched.mem.minsize", 0, out->memsize_mb, 0, &s->mem_min_mb) < 0 ||
	    get_limit(c, "sched.mem.max", VMX_MEMSIZE_MAX_MB, &s->mem_max_mb) < 0)
		return -1;
	if (s->cpu_max_mhz && s->cpu_min_mhz > s->cpu_max_mhz)
		return kerr(c, "sched.cpu.min", "reservation %u MHz is above the limit %u MHz",
			    s->cpu_min_mhz, s->cpu_max_mhz);
	if (s->mem_max_mb && s->mem_min_mb > s->mem_max_mb)
		return kerr(c, "sched.mem.minsize", "reservation %u MB is above the limit %u MB",
			    s->mem_min_mb, s->mem_max_mb);
	return 0;
}

/* ---- entry points ------------------------------------------------------ */

int vmx_vm_config_from(const struct vmxfile *f, const char *vm_dir,
		       struct vmx_vm_config *out, char *err, size_t errlen)
{
	struct cfg c = { .f = f, .vm_dir = vm_dir, .err = err, .errlen = errlen };
	struct unknown_dev u = { .c = &c };

	memset(out, 0, sizeof(*out));
	if (!vm_dir || vm_dir[0] != '/' || strlen(vm_dir) >= VMX_PATH_MAX) {
		snprintf(err, errlen, "%s: the VM folder must be an absolute path",
			 vmxfile_name(f));
		return -1;
	}
	if (read_machine(&c, out) < 0 || vmxfile_foreach(f, check_unknown_dev, &u) < 0 ||
	    read_disks(&c, out) < 0 || read_nics(&c, out) < 0 || read_serial(&c, out) < 0 ||
	    read_boot(&c, out) < 0 || read_sched(&c, out) < 0)
		return -1;
	if (out->nr_disks + out->nr_nics > VMXFILE_MAX_DEVICES) {
		snprintf(err, errlen, "%s: %u disks and %u network adapters: vmk serves at most %d devices",
			 vmxfile_name(f), out->nr_disks, out->nr_nics, VMXFILE_MAX_DEVICES);
		return -1;
	}
	return 0;
}

/* Adds ethernetN's generated address when it has none. */
static int generate_mac(const struct cfg *c, struct vmxfile *f, unsigned n,
			const uint8_t uuid[16], bool *changed)
{
	char key[48], val[18], off_s[16];
	const char *type;
	bool present;
	unsigned off;
	uint8_t mac[6];

	nic_key(key, sizeof(key), n, "present");
	if (get_bool(c, key, false, &present) < 0)
		return -1;
	if (!present)
		return 0;
	nic_key(key, sizeof(key), n, "addressType");
	type = vmxfile_get(f, key);
	if (type && strcasecmp(type, "generated") != 0)
		return 0;
	nic_key(key, sizeof(key), n, "generatedAddress");
	if (vmxfile_get(f, key) || gen_offset(c, n, &off) < 0)
		return vmxfile_get(f, key) ? 0 : -1;
	vmx_mac_generated(uuid, off, mac);
	vmx_mac_format(mac, val);
	snprintf(off_s, sizeof(off_s), "%u", off);
	if (vmxfile_set(f, key, val) < 0)
		return kerr(c, key, "cannot set (out of memory)");
	nic_key(key, sizeof(key), n, "generatedAddressOffset");
	if (vmxfile_set(f, key, off_s) < 0)
		return kerr(c, key, "cannot set (out of memory)");
	*changed = true;
	return 0;
}

int vmx_vm_generate(struct vmxfile *f, bool *changed, char *err, size_t errlen)
{
	struct cfg c = { .f = f, .vm_dir = "/", .err = err, .errlen = errlen };
	const char *v = vmxfile_get(f, "uuid.bios");
	uint8_t uuid[16];

	*changed = false;
	if (v && vmx_uuid_parse(v, uuid) < 0)
		return kerr(&c, "uuid.bios",
			    "expected 16 hex bytes like \"56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71\"");
	if (!v) {
		char s[VMX_UUID_STRLEN];

		if (vmx_uuid_generate(uuid) < 0)
			return kerr(&c, "uuid.bios", "no randomness to generate one");
		vmx_uuid_format(uuid, s);
		if (vmxfile_set(f, "uuid.bios", s) < 0)
			return kerr(&c, "uuid.bios", "cannot set (out of memory)");
		*changed = true;
	}
	for (unsigned n = 0; n < VMXFILE_MAX_NICS; n++)
		if (generate_mac(&c, f, n, uuid, changed) < 0)
			return -1;
	return 0;
}
