/*
 * vmkd, the host daemon: one per host (instance), in the foreground
 * until SIGTERM or SIGINT, in whatever network namespace it was started
 * in (that namespace is the host's defaultTcpipStack).
 *
 * Start: compute the instance paths, take the instance lock, open
 * vmkernel.log and the store (a first start creates the defaults of a new
 * host in the same transaction as the schema), look at the NICs, start
 * the datapath, build the TCP/IP stacks, VMkernel adapters and routes
 * from the store (net/realize.c), then serve the API on the Unix socket
 * from the event loop.  Stop: close the socket, delete the adapters' TAPs
 * (in batches: vmknic_rt_shutdown; the stacks' namespaces stay for the
 * next start),
 * stop the datapath, remove the socket and the pid file.  A kill -9 skips the cleanup and
 * loses nothing: every acknowledged change is committed, the lock dies
 * with the process, and the next start replaces the stale socket.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api.h"
#include "defaults.h"
#include "instance.h"
#include "log.h"
#include "loop.h"
#include "net/dns.h"
#include "net/ip.h"
#include "net/model.h"
#include "store.h"
#include "switching.h"
#include "system.h"
#include "vm/vm.h"
#include "vmklog.h"

struct options {
	const char *instance;
	struct mgmt_ip mgmt;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vmkd [--instance NAME] [--mgmt-ip ADDR/PREFIX]\n\n"
		"The vmk host daemon.  Runs in the foreground until SIGTERM.\n\n"
		"  --instance NAME        the host instance (default: $VMK_INSTANCE or 'default')\n"
		"  --mgmt-ip ADDR/PREFIX  IPv4 address of vmk0, used on the first start only\n"
		"  --version              print the version\n"
		"  --help                 print this help\n");
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "instance", required_argument, 0, 'i' },
		{ "mgmt-ip", required_argument, 0, 'm' },
		{ "version", no_argument, 0, 'V' },
		{ "help", no_argument, 0, 'h' },
		{ 0 }
	};
	int c;

	o->instance = getenv("VMK_INSTANCE");
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->instance = optarg;
			break;
		case 'm':
			if (defaults_parse_mgmt_ip(optarg, &o->mgmt) < 0)
				die("invalid --mgmt-ip '%s': expected ADDR/PREFIX, e.g. 192.168.1.10/24",
				    optarg);
			break;
		case 'V':
			printf("vmkd %s\n", VMK_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see vmkd --help)", argv[optind]);
	if (!o->instance || !o->instance[0])
		o->instance = "default";
}

static void open_store(const struct instance *in, const struct options *o)
{
	char err[512];
	bool empty;

	if (store_open(in->db_path, &empty, err, sizeof(err)) < 0)
		die("%s", err);
	if (!empty) {
		if (o->mgmt.set)
			vmklog("Config", "--mgmt-ip ignored: the store already has vmk0's address");
		return;
	}
	if (store_begin() < 0 || store_create_schema() < 0 || defaults_create(in, &o->mgmt) < 0 ||
	    store_commit() < 0)
		die("cannot create the store %s: %s", in->db_path, store_errmsg());
}

static void log_inventory(void)
{
	struct nic_info *nics;

	store_begin();
	int n = nic_scan(&nics);
	store_commit();
	if (n >= 0)
		free(nics);
	vmklog("Config", "loaded: %lld vSwitches, %lld port groups, %lld uplinks, %lld VMkernel "
	       "adapters; %d NICs present",
	       store_int(0, "SELECT count(*) FROM vswitch", ""),
	       store_int(0, "SELECT count(*) FROM portgroup", ""),
	       store_int(0, "SELECT count(*) FROM uplink", ""),
	       store_int(0, "SELECT count(*) FROM vmknic", ""), n);
}

static void signal_event(void *arg, uint32_t events)
{
	struct signalfd_siginfo si;
	int fd = *(int *)arg;

	(void)events;
	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		vmklog("Init", "signal %u received, stopping", si.ssi_signo);
		loop_stop();
	}
}

static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void register_handlers(void)
{
	system_register();
	nic_register();
	vswitch_register();
	portgroup_register();
	policy_register();
	netstack_register();
	vmknic_register();
	vmknic_ip_register();
	vmknic_tag_register();
	route_register();
	dns_register();
	neighbor_register();
	connection_register();
	vm_register();
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct instance in;
	char err[512];

	log_set_prog("vmkd");
	parse_args(argc, argv, &o);
	if (instance_init(&in, o.instance, err, sizeof(err)) < 0 ||
	    instance_mkdirs(&in, err, sizeof(err)) < 0 || instance_lock(&in, err, sizeof(err)) < 0)
		die("%s", err);
	if (vmklog_open(in.log_path) < 0)
		die("cannot open %s: %s", in.log_path, strerror(errno));
	vmklog("Init", "vmkd %s starting, instance '%s', pid %d", VMK_VERSION, in.name, getpid());
	open_store(&in, &o);
	register_handlers();
	log_inventory();
	int sigfd = setup_signals();
	if (loop_init() < 0 || sigfd < 0 || loop_add(sigfd, EPOLLIN, signal_event, &sigfd) < 0)
		die("cannot set up the event loop: %s", strerror(errno));
	if (switching_start() < 0)
		die("cannot start the datapath (see vmkernel.log)");
	net_realize(in.name);
	vm_start(&in);
	if (api_listen(in.sock_path, err, sizeof(err)) < 0)
		die("%s", err);
	vmklog("Init", "serving the API on %s", in.sock_path);
	loop_run();
	api_close();
	vm_stop();
	net_unrealize();
	switching_stop();
	instance_cleanup(&in);
	store_close();
	vmklog("Init", "vmkd stopped");
	vmklog_close();
	return 0;
}
