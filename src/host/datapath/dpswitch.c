/*
 * vmk-dpswitch: the datapath on its own, for benchmarks and experiments
 * (vmkd embeds the library; this program is not installed).
 *
 *   vmk-dpswitch run [--seconds N] [--vlan N] [--mtu N] [--busy-poll US]
 *                    --tap NAME@NETNS[=MAC] ... [--uplink IF@NETNS] ...
 *                    [--vhost NAME=SOCKET[@MAC]] ...
 *       One switch, one port group (VLAN --vlan), a VMkernel-adapter port
 *       per --tap (the TAP is created in the named namespace, with the
 *       given MAC or the one the kernel chose), an uplink per --uplink
 *       (all active, originating port id) and a VM port per --vhost: a
 *       vhost-user back end that connects to the front end listening on
 *       SOCKET (retrying for up to 5 s until it exists), with the given
 *       MAC or 00:50:56:00:00:NN (NN counts the --vhost ports from 1).  Prints "ready" once the ports
 *       exist, forwards until SIGINT/SIGTERM or --seconds, then prints
 *       each port's counters.
 *
 *   vmk-dpswitch blast --netns NS --dev IF --dst MAC [--size N] [--seconds N]
 *       Sends N-byte frames (default 60: 64 on the wire with the FCS),
 *       EtherType 0x88b5 (local experimental), from IF's MAC to MAC as
 *       fast as one thread can (AF_PACKET, sendmmsg, qdisc bypassed),
 *       for --seconds (default 3); prints the number sent.
 *
 * The datapath's network safety is the caller's: name only namespaces and
 * interfaces you made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "datapath.h"
#include "vmmac.h"

#define MAX_PORTS 16

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Splits "NAME@NETNS[=MAC]" in place. */
static int split_spec(char *spec, char **name, char **netns, char **mac)
{
	char *at = strchr(spec, '@');

	*name = spec;
	*netns = NULL;
	*mac = NULL;
	if (at) {
		*at = 0;
		*netns = at + 1;
	}
	char *eq = strchr(at ? at + 1 : spec, '=');
	if (eq) {
		*eq = 0;
		*mac = eq + 1;
	}
	return **name ? 0 : -1;
}

struct run_cfg {
	double seconds;
	unsigned vlan, mtu;
	int busy_poll;		/* -1: the default */
	char *taps[MAX_PORTS], *uplinks[MAX_PORTS], *vhosts[MAX_PORTS];
	unsigned ntaps, nuplinks, nvhosts;
};

struct rig {
	struct dp_switch *sw;
	struct dp_runner *run;
	struct dp_port *ports[3 * MAX_PORTS];
	unsigned n;
};

static int add_tap(struct rig *r, char *spec)
{
	char *name, *netns, *macs, err[256];
	uint8_t mac[6];

	if (split_spec(spec, &name, &netns, &macs) < 0)
		return fprintf(stderr, "vmk-dpswitch: bad --tap '%s'\n", spec), -1;
	int fd = dp_tap_open(name, netns, err, sizeof(err));
	if (fd < 0)
		return fprintf(stderr, "vmk-dpswitch: %s\n", err), -1;
	if (macs && (vmx_mac_parse(macs, mac) < 0 || dp_tap_set_mac(fd, mac) < 0))
		return fprintf(stderr, "vmk-dpswitch: bad MAC '%s'\n", macs), -1;
	if (!macs && dp_tap_get_mac(fd, mac) < 0)
		return fprintf(stderr, "vmk-dpswitch: cannot read %s's MAC\n", name), -1;
	struct dp_port *p = dp_tap_port_new(name, fd);
	if (!p || dp_switch_attach(r->sw, p, "pg", mac) < 0)
		return fprintf(stderr, "vmk-dpswitch: cannot attach %s\n", name), -1;
	r->ports[r->n++] = p;
	return 0;
}

static int add_uplink(struct rig *r, char *spec)
{
	char *name, *netns, *macs, err[256];

	if (split_spec(spec, &name, &netns, &macs) < 0)
		return fprintf(stderr, "vmk-dpswitch: bad --uplink '%s'\n", spec), -1;
	struct dp_port *p = dp_packet_port_new(name, name, netns, err, sizeof(err));
	if (!p)
		return fprintf(stderr, "vmk-dpswitch: %s\n", err), -1;
	if (dp_switch_attach_uplink(r->sw, p) < 0)
		return fprintf(stderr, "vmk-dpswitch: cannot attach %s\n", name), -1;
	r->ports[r->n++] = p;
	return 0;
}

/* Connects to the front end's socket, which may not be there yet. */
static struct dp_port *vhost_connect(const char *name, const char *path)
{
	char err[256];

	for (int i = 0; i < 50; i++) {
		struct dp_port *p = dp_vhost_port_new(name, path, err, sizeof(err));
		if (p)
			return p;
		usleep(100000);
	}
	fprintf(stderr, "vmk-dpswitch: %s\n", err);
	return NULL;
}

static int add_vhost(struct rig *r, char *spec, unsigned n)
{
	uint8_t mac[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, (uint8_t)n };
	char *eq = strchr(spec, '=');
	char *at = eq ? strrchr(eq, '@') : NULL;

	if (!eq || eq == spec || !eq[1])
		return fprintf(stderr, "vmk-dpswitch: bad --vhost '%s'\n", spec), -1;
	*eq = 0;
	if (at) {
		if (vmx_mac_parse(at + 1, mac) < 0)
			return fprintf(stderr, "vmk-dpswitch: bad MAC '%s'\n", at + 1), -1;
		*at = 0;
	}
	struct dp_port *p = vhost_connect(spec, eq + 1);
	if (!p)
		return -1;
	if (dp_switch_attach(r->sw, p, "pg", mac) < 0) {
		dp_port_destroy(p);
		return fprintf(stderr, "vmk-dpswitch: cannot attach %s\n", spec), -1;
	}
	r->ports[r->n++] = p;
	return 0;
}

static void print_stats(struct rig *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		struct dp_port_stats st;
		dp_port_get_stats(r->ports[i], &st);
		printf("%s in %llu frames %llu bytes out %llu frames %llu bytes",
		       r->ports[i]->name, (unsigned long long)st.in_frames,
		       (unsigned long long)st.in_bytes,
		       (unsigned long long)st.out_frames,
		       (unsigned long long)st.out_bytes);
		for (int d = 0; d < DP_DROP_MAX; d++)
			if (st.drops[d])
				printf(" drop-%s %llu", dp_drop_name(d),
				       (unsigned long long)st.drops[d]);
		printf("\n");
	}
}

static int build_rig(struct rig *r, struct run_cfg *c)
{
	struct dp_switch_config sc = { .name = "vSwitch0", .mtu = c->mtu };
	struct dp_policy pol;

	dp_policy_default(&pol);
	for (unsigned i = 0; i < c->nuplinks && i < DP_TEAM_MAX; i++) {
		char *at = strchr(c->uplinks[i], '@');
		snprintf(pol.teaming.active[i], DP_NAME_MAX, "%.*s",
			 at ? (int)(at - c->uplinks[i]) : DP_NAME_MAX - 1, c->uplinks[i]);
		pol.teaming.n_active++;
	}
	r->sw = dp_switch_new(&sc);
	r->run = dp_runner_new();
	if (!r->sw || !r->run || dp_pg_set(r->sw, "pg", (uint16_t)c->vlan, &pol) < 0)
		return -1;
	for (unsigned i = 0; i < c->ntaps; i++)
		if (add_tap(r, c->taps[i]) < 0)
			return -1;
	for (unsigned i = 0; i < c->nuplinks; i++)
		if (add_uplink(r, c->uplinks[i]) < 0)
			return -1;
	for (unsigned i = 0; i < c->nvhosts; i++)
		if (add_vhost(r, c->vhosts[i], i + 1) < 0)
			return -1;
	for (unsigned i = 0; i < r->n; i++)
		if (dp_runner_add(r->run, r->ports[i]) < 0)
			return -1;
	return 0;
}

static int cmd_run(struct run_cfg *c)
{
	struct rig r = { 0 };

	if (build_rig(&r, c) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	double end = c->seconds > 0 ? now_s() + c->seconds : 0;
	if (c->busy_poll >= 0)
		dp_runner_set_busy_poll(r.run, (unsigned)c->busy_poll);
	if (dp_runner_start(r.run) < 0)
		return 1;
	while (!stop && (!end || now_s() < end))
		usleep(50000);
	dp_runner_stop(r.run);
	print_stats(&r);
	for (unsigned i = 0; i < r.n; i++) {
		dp_runner_del(r.run, r.ports[i]);
		dp_port_destroy(r.ports[i]);
	}
	dp_runner_free(r.run);
	dp_switch_free(r.sw);
	return 0;
}

struct blast_cfg {
	const char *netns, *dev;
	uint8_t dst[6];
	unsigned size;
	double seconds;
	uint8_t src[6];
};

static int blast_open(void *arg)
{
	struct blast_cfg *b = arg;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	int one = 1;
	struct ifreq ifr;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", b->dev);
	sll.sll_ifindex = (int)if_nametoindex(b->dev);
	if (!sll.sll_ifindex || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -ENODEV;
	}
	memcpy(b->src, ifr.ifr_hwaddr.sa_data, 6);
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	return fd;
}

static int cmd_blast(struct blast_cfg *b)
{
	uint8_t frame[2048] = { 0 };
	struct iovec iov = { frame, b->size };
	struct mmsghdr msg[64];
	unsigned long long sent = 0;

	int fd = dp_in_netns(b->netns, blast_open, b);
	if (fd < 0) {
		fprintf(stderr, "vmk-dpswitch: cannot open %s in %s: %s\n", b->dev,
			b->netns ? b->netns : "here", strerror(-fd));
		return 1;
	}
	memcpy(frame, b->dst, 6);
	memcpy(frame + 6, b->src, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	for (int i = 0; i < 64; i++)
		msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	double end = now_s() + b->seconds;
	while (!stop && now_s() < end) {
		int n = sendmmsg(fd, msg, 64, 0);
		if (n > 0)
			sent += (unsigned)n;
	}
	printf("sent %llu\n", sent);
	close(fd);
	return 0;
}

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: vmk-dpswitch run [--seconds N] [--vlan N] [--mtu N] [--busy-poll US]\n"
		"                        --tap NAME@NETNS[=MAC] ... [--uplink IF@NETNS] ...\n"
		"                        [--vhost NAME=SOCKET[@MAC]] ...\n"
		"       vmk-dpswitch blast --netns NS --dev IF --dst MAC [--size N] [--seconds N]\n");
	exit(2);
}

static const struct option opts[] = {
	{ "seconds", required_argument, NULL, 's' },
	{ "vlan", required_argument, NULL, 'v' },
	{ "mtu", required_argument, NULL, 'm' },
	{ "busy-poll", required_argument, NULL, 'b' },
	{ "tap", required_argument, NULL, 't' },
	{ "uplink", required_argument, NULL, 'u' },
	{ "vhost", required_argument, NULL, 'V' },
	{ "netns", required_argument, NULL, 'n' },
	{ "dev", required_argument, NULL, 'd' },
	{ "dst", required_argument, NULL, 'D' },
	{ "size", required_argument, NULL, 'z' },
	{ NULL, 0, NULL, 0 },
};

static void parse(int argc, char **argv, struct run_cfg *c, struct blast_cfg *b)
{
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': c->seconds = b->seconds = atof(optarg); break;
		case 'v': c->vlan = (unsigned)atoi(optarg); break;
		case 'm': c->mtu = (unsigned)atoi(optarg); break;
		case 'b': c->busy_poll = atoi(optarg); break;
		case 't':
			if (c->ntaps == MAX_PORTS)
				usage();
			c->taps[c->ntaps++] = optarg;
			break;
		case 'u':
			if (c->nuplinks == MAX_PORTS)
				usage();
			c->uplinks[c->nuplinks++] = optarg;
			break;
		case 'V':
			if (c->nvhosts == MAX_PORTS)
				usage();
			c->vhosts[c->nvhosts++] = optarg;
			break;
		case 'n': b->netns = optarg; break;
		case 'd': b->dev = optarg; break;
		case 'D':
			if (vmx_mac_parse(optarg, b->dst) < 0)
				usage();
			break;
		case 'z': b->size = (unsigned)atoi(optarg); break;
		default: usage();
		}
	}
}

int main(int argc, char **argv)
{
	struct run_cfg c = { .busy_poll = -1 };
	struct blast_cfg b = { .size = 60, .seconds = 3 };

	if (argc < 2)
		usage();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	parse(argc - 1, argv + 1, &c, &b);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(&c);
	if (strcmp(argv[1], "blast") == 0) {
		if (!b.dev || b.size < 14 || b.size > 2048)
			usage();
		return cmd_blast(&b);
	}
	usage();
}
