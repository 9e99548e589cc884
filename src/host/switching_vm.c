/*
 * VM ports: switching_vm.h.  Each port is a record that outlives its
 * connection: while the front end is there it has a dp_vhost_port
 * attached to its port group's switch and watched by the runner; while
 * it is not (vmx still starting, re-executing on a reset, or a QEMU not
 * started yet) it has none, and a timer on vmkd's loop tries again.
 * vhost-user ports never reconnect by themselves (datapath.h): a port
 * whose front end hung up is destroyed here and made again on the next
 * try, and the front end replays its device state to the new back end.
 *
 * Retry schedule, bounded in count per tick and in rate: every 200 ms for
 * the first 50 tries in a row (10 s, the time a starting vmx may take),
 * then every 5 s, with one warning in vmkernel.log when it slows down.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "switching.h"
#include "switching_internal.h"
#include "switching_vm.h"
#include "vmklog.h"

#define TICK_MS 200
#define FAST_TRIES 50
#define SLOW_MS 5000

struct sw_vmport {
	char name[SW_VM_PORT_NAME_MAX];
	long long vmid;
	char pg[64];
	char sock[108];
	uint8_t mac[6];
	struct sw_vswitch *vs;		/* while port is attached */
	struct dp_port *port;		/* NULL while not connected */
	unsigned tries;			/* failed tries in a row */
	long long next_ms;		/* the next try */
	char last_err[160];
};

static struct sw_vmport **ports;
static unsigned nports;
static int timer_fd = -1;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool switching_vm_supported(void)
{
	return true;
}

static void mac_text(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- one port's connection ---- */

static void disconnect(struct sw_vmport *v)
{
	if (!v->port)
		return;
	sw_log_port_stats(v->port);
	dp_runner_del(sw_runner, v->port);
	dp_switch_detach(v->port);
	dp_port_destroy(v->port);
	v->port = NULL;
	v->vs = NULL;
}

/* One try: make the port, attach it, let the runner serve it. */
static int try_connect(struct sw_vmport *v, char *err, size_t errlen)
{
	struct sw_vswitch *vs = NULL;
	struct sw_pg *pg = sw_pg_by_name(v->pg, &vs);
	struct dp_port *p;
	int rc;

	if (!pg || !sw_runner) {
		snprintf(err, errlen, "port group '%s' is not in the datapath", v->pg);
		return -1;
	}
	if (!(p = dp_vhost_port_new(v->name, v->sock, err, errlen)))
		return -1;
	if ((rc = dp_switch_attach(vs->dp, p, pg->key, v->mac)) < 0) {
		snprintf(err, errlen, "%s", rc == -EEXIST ? "another port has its MAC in that VLAN"
							: strerror(-rc));
		dp_port_destroy(p);
		return -1;
	}
	if ((rc = dp_runner_add(sw_runner, p)) < 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		dp_switch_detach(p);
		dp_port_destroy(p);
		return -1;
	}
	v->port = p;
	v->vs = vs;
	if (pg->notify)
		dp_port_announce(p);
	return 0;
}

static void attempt(struct sw_vmport *v, long long now)
{
	char err[160];

	if (try_connect(v, err, sizeof(err)) == 0) {
		char mac[18];
		mac_text(v->mac, mac);
		vmklog("Net", "%s (MAC %s) connected to port group '%s' on %s%s", v->name, mac,
		       v->pg, v->vs->name, v->tries ? " after retrying" : "");
		v->tries = 0;
		return;
	}
	snprintf(v->last_err, sizeof(v->last_err), "%s", err);
	if (++v->tries == FAST_TRIES)
		vmklog_warn("Net", "%s: no front end at %s after %d tries (%s); trying every %d s",
			    v->name, v->sock, FAST_TRIES, err, SLOW_MS / 1000);
	v->next_ms = now + (v->tries < FAST_TRIES ? TICK_MS : SLOW_MS);
}

/* ---- the timer ---- */

static void arm(void)
{
	struct itimerspec it = { { 0, TICK_MS * 1000000L }, { 0, TICK_MS * 1000000L } };

	if (timer_fd >= 0)
		timerfd_settime(timer_fd, 0, nports ? &it : &(struct itimerspec){ 0 }, NULL);
}

static void tick(void *arg, uint32_t events)
{
	uint64_t n;
	long long now = now_ms();

	(void)arg;
	(void)events;
	if (read(timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	for (unsigned i = 0; i < nports; i++) {
		struct sw_vmport *v = ports[i];
		if (v->port && !dp_vhost_port_connected(v->port)) {
			vmklog("Net", "%s: the front end at %s hung up", v->name, v->sock);
			disconnect(v);
			v->next_ms = now;
		}
		if (!v->port && now >= v->next_ms)
			attempt(v, now);
	}
}

static int timer_start(void)
{
	if (timer_fd >= 0)
		return 0;
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (timer_fd < 0 || loop_add(timer_fd, EPOLLIN, tick, NULL) < 0) {
		if (timer_fd >= 0)
			close(timer_fd);
		timer_fd = -1;
		return -1;
	}
	return 0;
}

/* ---- the API ---- */

static struct sw_vmport *find(const char *name)
{
	for (unsigned i = 0; i < nports; i++)
		if (strcmp(ports[i]->name, name) == 0)
			return ports[i];
	return NULL;
}

int switching_attach_vm_port(const char *name, long long vmid, const char *portgroup,
			     const char *socket, const uint8_t mac[6], char *err, size_t errlen)
{
	struct sw_vswitch *vs;
	struct sw_vmport *v = NULL, **l;

	if (find(name)) {
		snprintf(err, errlen, "port %s exists", name);
		return -1;
	}
	if (!sw_pg_by_name(portgroup, &vs)) {
		snprintf(err, errlen, "no port group '%s' in the datapath", portgroup);
		return -1;
	}
	if (strlen(name) >= SW_VM_PORT_NAME_MAX || strlen(socket) >= sizeof(v->sock) ||
	    strlen(portgroup) >= sizeof(v->pg)) {
		snprintf(err, errlen, "name, socket path or port group name too long");
		return -1;
	}
	if (timer_start() < 0 || !(v = calloc(1, sizeof(*v))) ||
	    !(l = realloc(ports, (nports + 1) * sizeof(*l)))) {
		free(v);
		snprintf(err, errlen, "out of resources: %s", strerror(errno));
		return -1;
	}
	ports = l;
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->pg, sizeof(v->pg), "%s", portgroup);
	snprintf(v->sock, sizeof(v->sock), "%s", socket);
	memcpy(v->mac, mac, 6);
	v->vmid = vmid;
	ports[nports++] = v;
	attempt(v, now_ms());
	arm();
	return 0;
}

static void drop_at(unsigned i)
{
	struct sw_vmport *v = ports[i];

	disconnect(v);
	vmklog("Net", "%s removed from port group '%s'", v->name, v->pg);
	ports[i] = ports[--nports];
	free(v);
	arm();
}

bool switching_detach_vm_port(const char *name)
{
	for (unsigned i = 0; i < nports; i++)
		if (strcmp(ports[i]->name, name) == 0) {
			drop_at(i);
			return true;
		}
	return false;
}

void switching_detach_vm_ports(long long vmid)
{
	for (unsigned i = nports; i-- > 0;)
		if (ports[i]->vmid == vmid)
			drop_at(i);
}

void sw_vms_drop_vswitch(const struct sw_vswitch *vs)
{
	for (unsigned i = 0; i < nports; i++)
		if (ports[i]->vs == vs) {
			vmklog_warn("Net", "%s disconnected: %s is gone", ports[i]->name, vs->name);
			disconnect(ports[i]);
			ports[i]->next_ms = now_ms() + SLOW_MS;
		}
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct sw_vmport *const *)a)->name, (*(struct sw_vmport *const *)b)->name);
}

void switching_vm_ports_each(void (*fn)(const struct sw_vm_port_info *p, void *arg), void *arg)
{
	if (nports)
		qsort(ports, nports, sizeof(*ports), by_name);
	for (unsigned i = 0; i < nports; i++) {
		struct sw_vmport *v = ports[i];
		struct sw_vswitch *vs = NULL;
		struct dp_port *up = v->port ? dp_port_uplink(v->port) : NULL;
		sw_pg_by_name(v->pg, &vs);
		struct sw_vm_port_info info = {
			.name = v->name, .vmid = v->vmid, .vswitch = vs ? vs->name : "",
			.portgroup = v->pg, .socket = v->sock,
			.connected = v->port && dp_vhost_port_connected(v->port),
			.port_id = v->port ? v->port->id : 0, .uplink = up ? up->name : "",
		};
		memcpy(info.mac, v->mac, 6);
		fn(&info, arg);
	}
}

void switching_vm_stop(void)
{
	while (nports)
		drop_at(nports - 1);
	free(ports);
	ports = NULL;
	if (timer_fd >= 0) {
		loop_del(timer_fd);
		close(timer_fd);
	}
	timer_fd = -1;
}
