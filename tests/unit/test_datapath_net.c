/*
 * The datapath with real ports (needs root; exits 77, skipped, without):
 *   - two VMkernel adapters (TAPs) in two network namespaces on one
 *     switch ping each other, and a TCP stream between them crosses the
 *     switch in GSO super-frames (the average frame is far above 1500);
 *   - an uplink (AF_PACKET on a veth) to an "external host" namespace:
 *     ping and TCP through it (in GSO super-frames too), and VLAN 100:
 *     ARP from the adapter leaves tagged, a tagged reply comes back (a
 *     raw socket on the far side, as the kernel may lack 8021q);
 *   - failover between two uplinks wired to a bridge in the external
 *     namespace (the physical switch): the RARP moves the adapter's MAC
 *     to the other bridge port and ping keeps answering.
 *
 * Network safety: only namespaces, veths and TAPs this test creates (all
 * named dpt<pid>...), no routes out of them, every ping and transfer
 * bounded by count and deadline; everything is deleted at the end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "datapath.h"

static char ns[4][32];		/* a, b: adapters; s: the uplinks' side; x: outside */
static const char *ping = "ping";
static bool have_iperf3;

enum { NS_A, NS_B, NS_S, NS_X };

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void mk_ns(int i)
{
	assert_int_equal(sh("ip netns add %s", ns[i]), 0);
	assert_int_equal(sh("ip -n %s link set lo up", ns[i]), 0);
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++)
		sh("ip netns del %s 2>/dev/null", ns[i]);
	return 0;
}

struct rig {
	struct dp_switch *sw;
	struct dp_runner *run;
	struct dp_port *port[4];
	unsigned n;
};

static void rig_init(struct rig *r, const struct dp_policy *pol, uint16_t vlan)
{
	struct dp_switch_config cfg = { .name = "vSwitch0", .mtu = 1500 };
	struct dp_policy def;

	if (!pol) {
		dp_policy_default(&def);
		pol = &def;
	}
	memset(r, 0, sizeof(*r));
	r->sw = dp_switch_new(&cfg);
	assert_non_null(r->sw);
	assert_int_equal(dp_pg_set(r->sw, "pg", vlan, pol), 0);
	r->run = dp_runner_new();
	assert_non_null(r->run);
	assert_int_equal(dp_runner_start(r->run), 0);
}

static void rig_free(struct rig *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		dp_runner_del(r->run, r->port[i]);
		dp_port_destroy(r->port[i]);
	}
	dp_runner_free(r->run);
	dp_switch_free(r->sw);
}

/* A vmknic: TAP `dev` in namespace i with address ip/24 and MAC ..:id. */
static struct dp_port *vmknic(struct rig *r, int i, const char *dev,
			      const char *ip, uint8_t id)
{
	char err[256];
	uint8_t mac[6] = { 0x00, 0x50, 0x56, 0x7a, 0x00, id };
	int fd = dp_tap_open(dev, ns[i], err, sizeof(err));

	if (fd < 0)
		fail_msg("%s", err);
	assert_int_equal(dp_tap_set_mac(fd, mac), 0);
	assert_int_equal(sh("ip -n %s addr add %s/24 dev %s", ns[i], ip, dev), 0);
	assert_int_equal(sh("ip -n %s link set %s up", ns[i], dev), 0);
	struct dp_port *p = dp_tap_port_new(dev, fd);
	assert_int_equal(dp_switch_attach(r->sw, p, "pg", mac), 0);
	assert_int_equal(dp_runner_add(r->run, p), 0);
	r->port[r->n++] = p;
	return p;
}

/* An uplink: veth `dev` in the switch's namespace, its peer `peer` in
 * the outside namespace (brought up, no address). */
static struct dp_port *uplink(struct rig *r, const char *dev, const char *peer)
{
	char err[256];

	assert_int_equal(sh("ip -n %s link add %s type veth peer name %s netns %s",
			    ns[NS_S], dev, peer, ns[NS_X]), 0);
	assert_int_equal(sh("ip -n %s link set %s up", ns[NS_S], dev), 0);
	assert_int_equal(sh("ip -n %s link set %s up", ns[NS_X], peer), 0);
	struct dp_port *p = dp_packet_port_new(dev, dev, ns[NS_S], err, sizeof(err));
	if (!p)
		fail_msg("%s", err);
	assert_true(p->link_up);
	assert_int_equal(dp_switch_attach_uplink(r->sw, p), 0);
	assert_int_equal(dp_runner_add(r->run, p), 0);
	r->port[r->n++] = p;
	return p;
}

static int ping_from(int i, const char *ip, int count)
{
	return sh("ip netns exec %s %s -c %d -i 0.2 -W 2 -w 10 %s", ns[i], ping,
		  count, ip);
}

/* A bounded TCP transfer from namespace `from` to a server at ip in
 * namespace `to`; 0 on success, 77 when iperf3 is missing. */
static int tcp_from(int from, int to, const char *ip)
{
	if (!have_iperf3)
		return 77;
	if (sh("ip netns exec %s iperf3 -s -1 -D -B %s >/dev/null 2>&1", ns[to], ip))
		return -1;
	usleep(300000);
	return sh("timeout 20 ip netns exec %s iperf3 -c %s -n 30M -f m "
		  "| grep -E 'sender|receiver'", ns[from], ip);
}

static void test_two_vmknics(void **state)
{
	(void)state;
	struct rig r;
	struct dp_port_stats st;

	mk_ns(NS_A);
	mk_ns(NS_B);
	rig_init(&r, NULL, 0);
	struct dp_port *a = vmknic(&r, NS_A, "vmk1", "10.250.0.1", 1);
	vmknic(&r, NS_B, "vmk2", "10.250.0.2", 2);
	assert_int_equal(ping_from(NS_A, "10.250.0.2", 3), 0);
	dp_port_get_stats(a, &st);
	assert_true(st.in_frames >= 4 && st.out_frames >= 4);	/* ARP + 3 */

	int rc = tcp_from(NS_A, NS_B, "10.250.0.2");
	if (rc != 77) {
		assert_int_equal(rc, 0);
		dp_port_get_stats(a, &st);
		/* 30 MB in super-frames, not 1514-byte ones */
		assert_true(st.in_bytes > 20000000);
		assert_true(st.in_bytes / st.in_frames > 8000);
		print_message("vmk1: %llu frames, %llu bytes into the switch\n",
			      (unsigned long long)st.in_frames,
			      (unsigned long long)st.in_bytes);
	}
	rig_free(&r);
}

/* ---- a raw socket on the outside end, for VLAN checks ---- */

static int raw_here(void *arg)
{
	const char *dev = arg;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	int one = 1;
	struct timeval tv = { .tv_usec = 200000 };
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex(dev),
	};

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int raw_socket(int i, const char *dev)
{
	int fd = dp_in_netns(ns[i], raw_here, (void *)dev);

	assert_true(fd >= 0);
	return fd;
}

/* Reads one frame; its VLAN (out of band or inline, tag removed), or -1
 * if untagged, -2 on timeout. */
static int raw_read(int fd, uint8_t *buf, size_t cap, ssize_t *len)
{
	union {
		char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, cap };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };

	*len = recvmsg(fd, &m, 0);
	if (*len < 14)
		return -2;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		struct tpacket_auxdata aux;
		memcpy(&aux, CMSG_DATA(c), sizeof(aux));
		if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
		    (aux.tp_status & TP_STATUS_VLAN_VALID))
			return aux.tp_vlan_tci & 0xfff;
	}
	if (buf[12] == 0x81 && buf[13] == 0x00) {
		int vid = (buf[14] << 8 | buf[15]) & 0xfff;
		memmove(buf + 12, buf + 16, (size_t)*len - 16);
		*len -= 4;
		return vid;
	}
	return -1;
}

/* The VLAN of the first ARP request from the adapter seen on fd. */
static int arp_request_vlan(int fd)
{
	static const uint8_t mac[6] = { 0x00, 0x50, 0x56, 0x7a, 0x00, 0x01 };
	uint8_t buf[2048];
	ssize_t len;

	for (int i = 0; i < 50; i++) {
		int vlan = raw_read(fd, buf, sizeof(buf), &len);
		if (vlan == -2)
			break;
		if (len >= 42 && memcmp(buf + 6, mac, 6) == 0 &&
		    buf[12] == 0x08 && buf[13] == 0x06)
			return vlan;
	}
	return -3;
}

/* "10.250.2.3 is at 02:00:00:00:00:33", tagged inline, to the adapter. */
static void send_tagged_arp_reply(int fd, uint16_t vlan)
{
	uint8_t f[64] = {
		0x00, 0x50, 0x56, 0x7a, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x33,
		0x81, 0x00, (uint8_t)(vlan >> 8), (uint8_t)vlan, 0x08, 0x06,
		0, 1, 8, 0, 6, 4, 0, 2,
		0x02, 0, 0, 0, 0, 0x33, 10, 250, 2, 3,
		0x00, 0x50, 0x56, 0x7a, 0x00, 0x01, 10, 250, 2, 1,
	};

	assert_int_equal(send(fd, f, sizeof(f), 0), (ssize_t)sizeof(f));
	usleep(100000);
}

static void test_uplink(void **state)
{
	(void)state;
	struct rig r;
	struct dp_policy pol;
	struct dp_port_stats st;

	mk_ns(NS_A);
	mk_ns(NS_S);
	mk_ns(NS_X);
	dp_policy_default(&pol);
	snprintf(pol.teaming.active[0], DP_NAME_MAX, "vmnic0");
	pol.teaming.n_active = 1;
	rig_init(&r, &pol, 0);
	vmknic(&r, NS_A, "vmk1", "10.250.1.1", 1);
	struct dp_port *up = uplink(&r, "vmnic0", "eth0");
	assert_int_equal(sh("ip -n %s addr add 10.250.1.3/24 dev eth0", ns[NS_X]), 0);
	assert_int_equal(ping_from(NS_A, "10.250.1.3", 3), 0);
	assert_int_equal(ping_from(NS_X, "10.250.1.1", 2), 0);

	int rc = tcp_from(NS_A, NS_X, "10.250.1.3");
	if (rc != 77) {
		assert_int_equal(rc, 0);
		dp_port_get_stats(up, &st);
		print_message("vmnic0: out %llu frames %llu bytes, tx drops %llu\n",
			      (unsigned long long)st.out_frames,
			      (unsigned long long)st.out_bytes,
			      (unsigned long long)st.drops[DP_DROP_TX]);
		assert_true(st.out_bytes > 20000000);
		assert_true(st.out_bytes / st.out_frames > 8000);
		assert_int_equal(tcp_from(NS_X, NS_A, "10.250.1.1"), 0);
	}

	/* VLAN 100 (this kernel may have no 8021q: the outside end is a raw
	 * socket).  The adapter's ARP request leaves tagged, a tagged reply
	 * reaches the adapter untagged: both ways through AF_PACKET, where
	 * the kernel keeps a received tag out of band. */
	assert_int_equal(dp_pg_set(r.sw, "pg", 100, &pol), 0);
	int fd = raw_socket(NS_X, "eth0");
	assert_int_equal(sh("ip -n %s addr add 10.250.2.1/24 dev vmk1", ns[NS_A]), 0);
	sh("ip netns exec %s %s -c 1 -W 1 10.250.2.3 >/dev/null", ns[NS_A], ping);
	assert_int_equal(arp_request_vlan(fd), 100);
	send_tagged_arp_reply(fd, 100);
	assert_int_equal(sh("ip -n %s neigh show 10.250.2.3 | grep -i 02:00:00:00:00:33",
			    ns[NS_A]), 0);
	close(fd);
	rig_free(&r);
}

static bool bridge_port_has(const char *port, const char *mac)
{
	return sh("bridge -n %s fdb show br br0 | grep -i '%s dev %s' >/dev/null",
		  ns[NS_X], mac, port) == 0;
}

static void test_failover(void **state)
{
	(void)state;
	struct rig r;
	struct dp_policy pol;

	mk_ns(NS_A);
	mk_ns(NS_S);
	mk_ns(NS_X);
	dp_policy_default(&pol);
	pol.teaming.lb = DP_LB_EXPLICIT;
	snprintf(pol.teaming.active[0], DP_NAME_MAX, "vmnic0");
	snprintf(pol.teaming.standby[0], DP_NAME_MAX, "vmnic1");
	pol.teaming.n_active = pol.teaming.n_standby = 1;
	rig_init(&r, &pol, 0);
	vmknic(&r, NS_A, "vmk1", "10.250.3.1", 1);
	/* the physical switch: a bridge in the outside namespace */
	assert_int_equal(sh("ip -n %s link add br0 type bridge", ns[NS_X]), 0);
	struct dp_port *u0 = uplink(&r, "vmnic0", "sw0");
	struct dp_port *u1 = uplink(&r, "vmnic1", "sw1");
	assert_int_equal(sh("ip -n %s link set sw0 master br0 && ip -n %s link set sw1 master br0"
			    " && ip -n %s addr add 10.250.3.3/24 dev br0 && ip -n %s link set br0 up",
			    ns[NS_X], ns[NS_X], ns[NS_X], ns[NS_X]), 0);
	assert_int_equal(ping_from(NS_A, "10.250.3.3", 2), 0);
	assert_true(bridge_port_has("sw0", "00:50:56:7a:00:01"));

	/* vmnic0's link state is watched by the control plane: here, us */
	assert_int_equal(sh("ip -n %s link set vmnic0 down", ns[NS_S]), 0);
	dp_switch_set_link(u0, false);
	assert_ptr_equal(dp_port_uplink(r.port[0]), u1);
	usleep(50000);
	assert_true(bridge_port_has("sw1", "00:50:56:7a:00:01"));
	assert_int_equal(ping_from(NS_A, "10.250.3.3", 2), 0);

	/* failback */
	assert_int_equal(sh("ip -n %s link set vmnic0 up", ns[NS_S]), 0);
	usleep(200000);
	dp_switch_set_link(u0, true);
	assert_ptr_equal(dp_port_uplink(r.port[0]), u0);
	usleep(50000);
	assert_true(bridge_port_has("sw0", "00:50:56:7a:00:01"));
	assert_int_equal(ping_from(NS_A, "10.250.3.3", 2), 0);
	rig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_two_vmknics, teardown),
		cmocka_unit_test_teardown(test_uplink, teardown),
		cmocka_unit_test_teardown(test_failover, teardown),
	};
	const char *tags[4] = { "a", "b", "s", "x" };

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 ||
	    sh("ip -V >/dev/null 2>&1") != 0) {
		printf("skipped: needs root, /dev/net/tun and ip(8)\n");
		return 77;
	}
	if (sh("command -v ping >/dev/null") != 0)
		ping = "busybox ping";
	have_iperf3 = sh("command -v iperf3 >/dev/null") == 0;
	for (int i = 0; i < 4; i++)
		snprintf(ns[i], sizeof(ns[i]), "dpt%d%s", (int)getpid(), tags[i]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
