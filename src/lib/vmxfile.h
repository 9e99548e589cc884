/*
 * .vmx files: VMware's per-VM configuration, read, checked and rewritten.
 *
 * A .vmx file is a list of `key = "value"` lines.  Keys are
 * case-insensitive, `#` starts a comment, blank lines are allowed, and a
 * value escapes a byte as `|XX` (two hex digits: `|22` is a quote, `|7C`
 * a bar, `|0A` a newline), which is how VMware writes quotes into an
 * annotation.  vmk keeps the file as its ordered lines, each with its raw
 * text, so that a rewrite changes only the lines vmk set: unknown keys,
 * comments and spacing come back byte for byte.
 *
 * Two layers:
 *  - struct vmxfile: the lines (parse, get, set, save atomically);
 *  - struct vmx_vm_config: the VM as vmk runs it, every key vmk uses
 *    checked, paths made absolute (vmx_vm_config_from()).
 *
 * vmx_vm_generate() fills in what VMware generates on first power-on
 * (uuid.bios, ethernetN.generatedAddress) and says whether the file
 * changed, so that vmkd writes it back.  The key reference is
 * docs/vms.md, section ".vmx files".
 */
#ifndef VMK_VMXFILE_H
#define VMK_VMXFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmmac.h"

/* Limits of the file itself (hostile input is refused, not truncated). */
#define VMXFILE_MAX_BYTES (1u << 20)  /* a real .vmx is a few KiB */
#define VMXFILE_MAX_KEY 128
#define VMXFILE_MAX_VALUE 8192

/* Limits of a VM. */
#define VMXFILE_MAX_NICS 10   /* ethernet0 .. ethernet9 */
#define VMXFILE_MAX_DISKS 16
/* vmx serves disks and adapters as virtio-mmio devices, 16 at most. */
#define VMXFILE_MAX_DEVICES 16
#define VMX_PATH_MAX 1024
#define VMX_NAME_MAX 256  /* displayName, guestOS, networkName, ... */
#define VMX_CMDLINE_LEN 4096 /* vmk.cmdline: at most 4095 bytes, as vmx */
#define VMX_ANNOTATION_MAX 4096
#define VMX_MEMSIZE_MAX_MB (1024u * 1024u) /* 1 TiB, vmx's limit */
#define VMX_MEMSIZE_DEFAULT_MB 32u  /* VMware's default when memsize is absent */
#define VMX_VCPUS_MAX 64

struct vmxfile; /* opaque: ordered lines */

/* Parses text (len bytes, not NUL-terminated necessarily).  name is used
 * in error messages ("NAME:LINE: KEY: what is wrong").  NULL on error. */
struct vmxfile *vmxfile_parse(const char *text, size_t len, const char *name,
			      char *err, size_t errlen);
/* Reads and parses path (at most VMXFILE_MAX_BYTES). */
struct vmxfile *vmxfile_load(const char *path, char *err, size_t errlen);

/* The decoded value of key (case-insensitive), or NULL if absent.  Valid
 * until the key is set again or f is freed. */
const char *vmxfile_get(const struct vmxfile *f, const char *key);
/* The 1-based line of key, 0 if absent (or added by vmxfile_set). */
unsigned vmxfile_line(const struct vmxfile *f, const char *key);
/* Sets key to value (raw bytes, escaped on save): replaces the line of an
 * existing key in place, else appends a line.  0, or -1 if the key or
 * value is not acceptable (bad characters, too long) or out of memory. */
int vmxfile_set(struct vmxfile *f, const char *key, const char *value);
/* Removes key's line; 0 if removed, -1 if absent. */
int vmxfile_remove(struct vmxfile *f, const char *key);
/* Calls fn for each key line in file order (decoded value, 1-based line,
 * 0 for a line vmk added); stops at and returns fn's first non-zero. */
int vmxfile_foreach(const struct vmxfile *f,
		    int (*fn)(const char *key, const char *value, unsigned line, void *arg),
		    void *arg);
/* The name given to vmxfile_parse() / the path given to vmxfile_load(). */
const char *vmxfile_name(const struct vmxfile *f);

/* The whole file as it would be saved, NUL-terminated, malloc'ed; *len
 * (if not NULL) gets its length.  NULL if out of memory. */
char *vmxfile_text(const struct vmxfile *f, size_t *len);
/* Writes the file to path atomically: a temporary file in the same
 * directory, fsync, rename over path, fsync of the directory.  Keeps the
 * mode of an existing file (0644 for a new one).  0, or -1 with err. */
int vmxfile_save(const struct vmxfile *f, const char *path, char *err, size_t errlen);
void vmxfile_free(struct vmxfile *f);

/* Escapes value as the file stores it (`|XX` for '"', '|', '#', control
 * bytes).  0, or -1 if it does not fit in len. */
int vmxfile_escape(const char *value, char *buf, size_t len);

enum vmx_address_type {
	VMX_ADDR_GENERATED, /* 00:0c:29 + uuid.bios bytes 13..15, + offset */
	VMX_ADDR_STATIC,    /* ethernetN.address, 00:50:56:00:00:00-3f:ff:ff */
	VMX_ADDR_VPX,       /* vCenter: ethernetN.generatedAddress, 00:50:56:80-bf */
};

struct vmx_nic {
	unsigned index;          /* N of ethernetN */
	bool present;            /* ethernetN.present; the rest is set only if true */
	bool start_connected;    /* ethernetN.startConnected (default true) */
	char network_name[VMX_NAME_MAX]; /* the port group */
	char virtual_dev[32];    /* as written (vmxnet3, e1000, ...), "" if absent */
	enum vmx_address_type address_type;
	uint8_t mac[6];
};

struct vmx_disk {
	char node[16];           /* "scsi0:0", "sata0:1", "nvme0:0", "ide1:0" */
	char path[VMX_PATH_MAX]; /* absolute */
	bool readonly;           /* deviceType cdrom-image */
};

enum vmx_serial_type {
	VMX_SERIAL_NONE,
	VMX_SERIAL_FILE, /* serial0.fileType = "file": output written to path */
	VMX_SERIAL_PIPE, /* serial0.fileType = "pipe": a Unix socket at path */
};

/* sched.*: 0 means "not set" for each of them. */
struct vmx_sched {
	unsigned cpu_shares;   /* sched.cpu.shares: low/normal/high = 500/1000/2000
				* per vCPU, or a number 1..1000000 */
	unsigned cpu_min_mhz;  /* sched.cpu.min (reservation) */
	unsigned cpu_max_mhz;  /* sched.cpu.max (limit) */
	unsigned mem_min_mb;   /* sched.mem.minsize (reservation), <= memsize */
	unsigned mem_max_mb;   /* sched.mem.max (limit), <= memsize */
};

/* The VM as vmk runs it. */
struct vmx_vm_config {
	char display_name[VMX_NAME_MAX]; /* default: the VM folder's name */
	char guest_os[VMX_NAME_MAX];     /* guestOS, default "other" */
	char annotation[VMX_ANNOTATION_MAX];
	unsigned hw_version;             /* virtualHW.version, 0 if absent */
	unsigned memsize_mb;             /* multiple of 4, 4..VMX_MEMSIZE_MAX_MB */
	unsigned numvcpus;               /* 1..64, default 1 */
	uint8_t uuid_bios[16];
	bool has_uuid;                   /* false: absent (vmx_vm_generate() adds it) */
	unsigned nr_nics;                /* the present ones, in index order */
	struct vmx_nic nics[VMXFILE_MAX_NICS];
	unsigned nr_disks;
	struct vmx_disk disks[VMXFILE_MAX_DISKS];
	enum vmx_serial_type serial_type;
	char serial_path[VMX_PATH_MAX];  /* absolute */
	char kernel[VMX_PATH_MAX];       /* vmk.kernel, absolute, required */
	char initrd[VMX_PATH_MAX];       /* vmk.initrd, absolute, "" if none */
	char cmdline[VMX_CMDLINE_LEN];   /* vmk.cmdline */
	bool debug_exit;                 /* vmk.debugExit */
	struct vmx_sched sched;
};

/*
 * Checks f and fills out.  Relative paths are taken relative to vm_dir
 * (the folder holding the .vmx, absolute).  Files named by disks, kernel
 * and initrd must exist; a serial file's folder must exist.  A generated
 * MAC that the file lacks is computed as vmx_vm_generate() would write
 * it (an error if uuid.bios is absent too).  0, or -1 with
 * "NAME:LINE: KEY: what is wrong" in err (no LINE for an absent key).
 */
int vmx_vm_config_from(const struct vmxfile *f, const char *vm_dir,
		       struct vmx_vm_config *out, char *err, size_t errlen);

/*
 * Adds what VMware generates: uuid.bios (random, VMware's "56 4d" first
 * bytes) when absent, and for each present ethernetN with addressType
 * generated (or absent) and no generatedAddress, the address and its
 * generatedAddressOffset.  *changed tells whether f was modified (then
 * the caller saves it).  0, or -1 with err if a key involved is bad.
 */
int vmx_vm_generate(struct vmxfile *f, bool *changed, char *err, size_t errlen);

/* Parses a .vmx boolean: TRUE/FALSE, yes/no, 1/0 (any case); 0 or -1. */
int vmx_parse_bool(const char *s, bool *out);

#endif
