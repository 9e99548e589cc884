/*
 * vmx's configuration, as parsed from its command line.
 */
#ifndef VMK_CONFIG_H
#define VMK_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define VMX_MAX_DISKS 16	/* disks and NICs share the 16 virtio-mmio slots */
#define VMX_MAX_NICS 10
#define VMX_MAX_DEVICES 16	/* VIRTIO_MMIO_MAX_DEVICES */
#define VMX_MAX_CPUS 64
#define VMX_CMDLINE_MAX 4096  /* what we accept from the user; vmx appends device entries */

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_UNIX, SERIAL_NONE };
enum reset_action { RESET_SHUTDOWN, RESET_RESTART };

struct disk_config {
	const char *path;
	bool readonly;
};

/* One --net: exactly one of tap (a TAP name) and vhost_user (a socket path). */
struct nic_config {
	const char *tap;
	const char *vhost_user;
	uint8_t mac[6];
	bool mac_set;
};

struct vmx_config {
	const char *kernel, *initrd, *cmdline;
	unsigned int cpus;
	uint64_t memory;                /* bytes */
	struct disk_config disk[VMX_MAX_DISKS];
	unsigned int nr_disks;
	struct nic_config nic[VMX_MAX_NICS];
	unsigned int nr_nics;
	enum serial_mode serial;
	const char *serial_path;
	bool debug_exit;
	const char *control;            /* control socket path or NULL */
	enum reset_action on_reset;
	bool start_paused;
	bool no_sandbox;                /* vCPU threads without their seccomp filter */
};

/*
 * Parses argv into *cfg.  On bad input prints one line naming the bad
 * option or value and returns -1; --help/--version return 1.
 */
int config_parse(struct vmx_config *cfg, int argc, char **argv);

/* "256M", "1G", "4096" (MiB when no suffix, as QEMU's -m) -> bytes; -1 on error. */
int parse_size(const char *s, uint64_t *out);
/* "52:54:00:12:34:56" -> 6 bytes; -1 on error. */
int parse_mac(const char *s, uint8_t mac[6]);

#endif
