/*
 * vmx's command line.  Every option is checked here, before anything is
 * created, so that bad input changes nothing: a one-line error naming the
 * option and value, and exit status 1.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum {
	OPT_KERNEL = 'k', OPT_INITRD = 'i', OPT_CMDLINE = 'a', OPT_CPUS = 'c',
	OPT_MEMORY = 'm', OPT_DISK = 'd', OPT_NET = 'n', OPT_SERIAL = 's',
	OPT_CONTROL = 'C', OPT_HELP = 'h',
	OPT_DEBUG_EXIT = 256, OPT_ON_RESET, OPT_PAUSED, OPT_VERSION, OPT_VERBOSE,
	OPT_NO_SANDBOX,
};

static const struct option long_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "debug-exit", no_argument, NULL, OPT_DEBUG_EXIT },
	{ "on-reset", required_argument, NULL, OPT_ON_RESET },
	{ "paused", no_argument, NULL, OPT_PAUSED },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
	"usage: vmx --kernel FILE [--initrd FILE] [--cmdline STR] [--cpus N]\n"
	"           [--memory SIZE] [--disk PATH[,ro]]...\n"
	"           [--net tap=NAME[,mac=MAC] | --net vhost-user=PATH[,mac=MAC]]...\n"
	"           [--serial stdio|file:PATH|unix:PATH|none] [--debug-exit]\n"
	"           [--control PATH] [--on-reset shutdown|restart] [--paused]\n"
	"           [--no-sandbox]\n"
	"\n"
	"Runs one virtual machine on KVM.  SIZE takes K, M, G suffixes (MiB\n"
	"without one); defaults: 1 vCPU, 256M, serial on stdio.  Exit status:\n"
	"the guest's debug-exit value (value << 1 | 1) when it used that port,\n"
	"0 on power-off or reset, 1 on a setup or vCPU error.  vCPU threads run\n"
	"under a seccomp filter unless --no-sandbox (for debugging) is given.\n";

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned int shift = 20;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int bad(const char *opt, const char *value, const char *why)
{
	log_error("invalid %s '%s': %s", opt, value, why);
	return -1;
}

static int parse_disk(struct vmx_config *cfg, char *arg)
{
	if (cfg->nr_disks >= VMX_MAX_DISKS)
		return bad("--disk", arg, "too many disks (at most 16)");
	struct disk_config *d = &cfg->disk[cfg->nr_disks];
	char *comma = strchr(arg, ',');
	if (comma) {
		if (strcmp(comma + 1, "ro") != 0)
			return bad("--disk", arg, "the only flag is ',ro'");
		*comma = '\0';
		d->readonly = true;
	}
	if (arg[0] == '\0')
		return bad("--disk", arg, "empty path");
	d->path = arg;
	cfg->nr_disks++;
	return 0;
}

/* The longest path a Unix socket address holds (sun_path, with its NUL). */
#define VHOST_PATH_MAX 107

static int parse_net_backend(struct nic_config *n, char *kv)
{
	if (n->tap || n->vhost_user)
		return bad("--net", kv, "give one of tap=NAME and vhost-user=PATH");
	if (strncmp(kv, "tap=", 4) == 0) {
		if (strlen(kv + 4) >= 16)
			return bad("--net", kv, "TAP name longer than 15 characters");
		n->tap = kv + 4;
		return 0;
	}
	if (strlen(kv + 11) > VHOST_PATH_MAX)
		return bad("--net", kv, "socket path longer than 107 bytes");
	n->vhost_user = kv + 11;
	return 0;
}

static int parse_net(struct vmx_config *cfg, char *arg)
{
	if (cfg->nr_nics >= VMX_MAX_NICS)
		return bad("--net", arg, "too many network adapters (at most 10)");
	struct nic_config *n = &cfg->nic[cfg->nr_nics];
	char *save = NULL;
	for (char *kv = strtok_r(arg, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		if ((strncmp(kv, "tap=", 4) == 0 && kv[4]) ||
		    (strncmp(kv, "vhost-user=", 11) == 0 && kv[11])) {
			if (parse_net_backend(n, kv) < 0)
				return -1;
		} else if (strncmp(kv, "mac=", 4) == 0) {
			if (parse_mac(kv + 4, n->mac) < 0)
				return bad("--net", kv, "MAC must be six hex pairs like 52:54:00:12:34:56");
			if (n->mac[0] & 1)
				return bad("--net", kv, "MAC is a multicast address");
			n->mac_set = true;
		} else {
			return bad("--net", kv, "expected tap=NAME or vhost-user=PATH, then [,mac=MAC]");
		}
	}
	if (!n->tap && !n->vhost_user)
		return bad("--net", "", "tap=NAME or vhost-user=PATH is required");
	for (unsigned int i = 0; n->vhost_user && i < cfg->nr_nics; i++)
		if (cfg->nic[i].vhost_user && strcmp(cfg->nic[i].vhost_user, n->vhost_user) == 0)
			return bad("--net", n->vhost_user, "socket path given twice");
	cfg->nr_nics++;
	return 0;
}

static int parse_serial(struct vmx_config *cfg, char *arg)
{
	if (strcmp(arg, "stdio") == 0) {
		cfg->serial = SERIAL_STDIO;
	} else if (strcmp(arg, "none") == 0) {
		cfg->serial = SERIAL_NONE;
	} else if (strncmp(arg, "file:", 5) == 0 && arg[5]) {
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = arg + 5;
	} else if (strncmp(arg, "unix:", 5) == 0 && arg[5]) {
		cfg->serial = SERIAL_UNIX;
		cfg->serial_path = arg + 5;
	} else {
		return bad("--serial", arg, "expected stdio, file:PATH, unix:PATH or none");
	}
	return 0;
}

static int parse_cpus(struct vmx_config *cfg, const char *arg)
{
	char *end;
	errno = 0;
	long n = strtol(arg, &end, 10);
	if (errno || *end || n < 1 || n > VMX_MAX_CPUS)
		return bad("--cpus", arg, "must be a number from 1 to 64");
	cfg->cpus = (unsigned int)n;
	return 0;
}

static int parse_memory(struct vmx_config *cfg, const char *arg)
{
	if (parse_size(arg, &cfg->memory) < 0)
		return bad("--memory", arg, "expected a size like 256M or 2G");
	if (cfg->memory < (16ULL << 20))
		return bad("--memory", arg, "at least 16M is needed");
	if (cfg->memory > (1ULL << 40))
		return bad("--memory", arg, "at most 1T");
	cfg->memory &= ~0xfffULL;
	return 0;
}

static int parse_option(struct vmx_config *cfg, int opt, char *arg)
{
	switch (opt) {
	case OPT_KERNEL: cfg->kernel = arg; return 0;
	case OPT_INITRD: cfg->initrd = arg; return 0;
	case OPT_CMDLINE: cfg->cmdline = arg; return 0;
	case OPT_CPUS: return parse_cpus(cfg, arg);
	case OPT_MEMORY: return parse_memory(cfg, arg);
	case OPT_DISK: return parse_disk(cfg, arg);
	case OPT_NET: return parse_net(cfg, arg);
	case OPT_SERIAL: return parse_serial(cfg, arg);
	case OPT_CONTROL: cfg->control = arg; return 0;
	case OPT_DEBUG_EXIT: cfg->debug_exit = true; return 0;
	case OPT_PAUSED: cfg->start_paused = true; return 0;
	case OPT_NO_SANDBOX: cfg->no_sandbox = true; return 0;
	case OPT_VERBOSE: log_set_level(LOG_DEBUG); return 0;
	case OPT_ON_RESET:
		if (strcmp(arg, "shutdown") == 0)
			cfg->on_reset = RESET_SHUTDOWN;
		else if (strcmp(arg, "restart") == 0)
			cfg->on_reset = RESET_RESTART;
		else
			return bad("--on-reset", arg, "expected shutdown or restart");
		return 0;
	}
	return -1;
}

int config_parse(struct vmx_config *cfg, int argc, char **argv)
{
	*cfg = (struct vmx_config){ .cpus = 1, .memory = 256ULL << 20,
				    .serial = SERIAL_STDIO, .cmdline = "" };
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":k:i:a:c:m:d:n:s:C:h", long_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (opt == OPT_VERSION) {
			puts("vmx (vmk) " VMK_VERSION);
			return 1;
		}
		if (opt == '?') {
			log_error("unknown option '%s' (see vmx --help)", argv[optind - 1]);
			return -1;
		}
		if (opt == ':') {
			log_error("option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		if (parse_option(cfg, opt, optarg) < 0)
			return -1;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see vmx --help)", argv[optind]);
		return -1;
	}
	if (!cfg->kernel) {
		log_error("missing --kernel FILE (see vmx --help)");
		return -1;
	}
	if (strlen(cfg->cmdline) >= VMX_CMDLINE_MAX) {
		log_error("--cmdline is too long (at most %d bytes)", VMX_CMDLINE_MAX - 1);
		return -1;
	}
	if (cfg->nr_disks + cfg->nr_nics > VMX_MAX_DEVICES) {
		log_error("%u disks and %u network adapters: at most %d devices in all",
			  cfg->nr_disks, cfg->nr_nics, VMX_MAX_DEVICES);
		return -1;
	}
	return 0;
}
