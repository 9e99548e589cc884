/*
 * Control socket.  The I/O thread accepts clients and answers one JSON
 * object per line.  "pause" returns once every vCPU is parked outside
 * KVM_RUN, so a client that sees the reply knows guest memory and vCPU
 * state are still.  "shutdown" presses the ACPI power button and returns
 * at once: whether and when the guest powers off is up to the guest.
 * The socket file exists only while vmx runs.
 */
#include "control.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/acpi_ged.h"
#include "evloop.h"
#include "log.h"
#include "vcpu.h"

#define CONTROL_MAX_CLIENTS 8
#define CONTROL_LINE_MAX 4096
#define MAX_STATS_SOURCES 32

struct client {
	int fd;
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

struct nic_source {
	nic_info_fn fn;
	void *dev;
};

struct stats_source {
	const char *name;
	stats_fn fn;
	void *dev;
};

static struct vm *the_vm;
static int listen_fd = -1;
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct client *clients[CONTROL_MAX_CLIENTS];
static struct stats_source stats_sources[MAX_STATS_SOURCES];
static unsigned int nr_stats_sources;
static struct timespec started;
static struct nic_source nics[VMX_MAX_NICS];

void control_register_nic(unsigned int index, nic_info_fn fn, void *dev)
{
	if (index < VMX_MAX_NICS)
		nics[index] = (struct nic_source){ fn, dev };
}

void control_register_stats(const char *name, stats_fn fn, void *dev)
{
	if (nr_stats_sources < MAX_STATS_SOURCES)
		stats_sources[nr_stats_sources++] = (struct stats_source){ name, fn, dev };
}

static const char *state_name(void)
{
	if (atomic_load(&the_vm->stop_reason) != VM_RUNNING)
		return "stopping";
	return the_vm->paused ? "paused" : "running";
}

static double uptime_seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

/* vmkd names the VM's world after vCPU 0's thread: vCPU 0 first. */
static json_t *vcpu_tids(void)
{
	json_t *a = json_array();

	for (unsigned int i = 0; the_vm->vcpu && i < the_vm->nr_vcpus; i++)
		json_array_append_new(a, json_integer(the_vm->vcpu[i].tid));
	return a;
}

static json_t *nic_list(void)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < the_vm->cfg->nr_nics && i < VMX_MAX_NICS; i++) {
		struct nic_info ni = { 0 };
		char mac[18];
		if (!nics[i].fn)
			continue;
		nics[i].fn(nics[i].dev, &ni);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", ni.mac[0],
			 ni.mac[1], ni.mac[2], ni.mac[3], ni.mac[4], ni.mac[5]);
		json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:s, s:b}",
			"index", (int)i, "mac", mac, "backend", ni.backend,
			"path", ni.path, "connected", ni.connected));
	}
	return a;
}

static json_t *method_query(void)
{
	return json_pack("{s:s, s:i, s:I, s:i, s:f, s:s, s:o, s:o}",
			 "state", state_name(),
			 "cpus", (int)the_vm->nr_vcpus,
			 "memory", (json_int_t)the_vm->ram_size,
			 "pid", (int)getpid(),
			 "uptime", uptime_seconds(),
			 "kernel", the_vm->cfg->kernel,
			 "vcpu_tids", vcpu_tids(),
			 "nics", nic_list());
}

static json_t *vcpu_stats(const struct vcpu *v)
{
	json_t *exits = json_object();
	for (int k = 0; k < VCPU_EXIT_KINDS; k++)
		json_object_set_new(exits, vcpu_exit_names[k],
				    json_integer((json_int_t)atomic_load(&v->stats.exits[k])));
	return json_pack("{s:i, s:I, s:o}", "id", (int)v->id,
			 "run_ns", (json_int_t)atomic_load(&v->stats.run_ns), "exits", exits);
}

static json_t *method_stats(void)
{
	json_t *vcpus = json_array(), *devices = json_object();
	for (unsigned int i = 0; i < the_vm->nr_vcpus; i++)
		json_array_append_new(vcpus, vcpu_stats(&the_vm->vcpu[i]));
	for (unsigned int i = 0; i < nr_stats_sources; i++) {
		struct stat_counter c[STATS_MAX_COUNTERS];
		unsigned int n = stats_sources[i].fn(stats_sources[i].dev, c, STATS_MAX_COUNTERS);
		json_t *obj = json_object();
		for (unsigned int j = 0; j < n; j++)
			json_object_set_new(obj, c[j].name, json_integer((json_int_t)c[j].value));
		json_object_set_new(devices, stats_sources[i].name, obj);
	}
	return json_pack("{s:o, s:o}", "vcpus", vcpus, "devices", devices);
}

/*
 * Runs one method; NULL result means "unknown method", *err set means
 * the method failed with that message.
 */
static json_t *dispatch(const char *method, const char **err)
{
	if (strcmp(method, "query") == 0)
		return method_query();
	if (strcmp(method, "stats") == 0)
		return method_stats();
	if (strcmp(method, "pause") == 0) {
		vm_pause(the_vm);
		return method_query();
	}
	if (strcmp(method, "resume") == 0) {
		vm_resume(the_vm);
		return method_query();
	}
	if (strcmp(method, "stop") == 0) {
		vm_request_stop(the_vm, VM_STOP_REQUEST, 0);
		return json_pack("{s:s}", "state", "stopping");
	}
	if (strcmp(method, "reset") == 0) {
		/* as the guest's own reset: --on-reset decides what follows */
		vm_request_stop(the_vm, VM_STOP_RESET, 0);
		return json_pack("{s:s, s:s}", "state", "stopping", "on_reset",
				 the_vm->cfg->on_reset == RESET_RESTART ? "restart" : "shutdown");
	}
	if (strcmp(method, "shutdown") == 0) {
		/* a power button press: the guest OS decides what follows */
		if (atomic_load(&the_vm->stop_reason) != VM_RUNNING) {
			*err = "the VM is already stopping";
			return json_null();
		}
		acpi_ged_raise(the_vm, ACPI_GED_PWR_BUTTON);
		return json_pack("{s:s}", "state", "shutdown requested");
	}
	return NULL;
}

static json_t *error_reply(json_t *id, int code, const char *msg)
{
	return json_pack("{s:O?, s:{s:i, s:s}}", "id", id, "error", "code", code, "message", msg);
}

static json_t *handle_line(const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *reply;
	if (!req)
		return error_reply(NULL, -32700, "request is not valid JSON");
	json_t *id = json_object_get(req, "id");
	const char *method = json_string_value(json_object_get(req, "method"));
	const char *err = NULL;
	json_t *result = method ? dispatch(method, &err) : NULL;
	if (!method)
		reply = error_reply(id, -32600, "request has no \"method\" string");
	else if (!result)
		reply = error_reply(id, -32601, "unknown method (query, stats, pause, "
				    "resume, stop, reset, shutdown)");
	else if (err)
		reply = error_reply(id, -32000, err);
	else
		reply = json_pack("{s:O?, s:o}", "id", id, "result", result);
	if (result && err)
		json_decref(result);
	json_decref(req);
	return reply;
}

static void send_reply(struct client *c, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (!text)
		return;
	size_t len = strlen(text);
	text[len] = '\n';
	/* Replies are small; a client that will not read them loses them. */
	if (send(c->fd, text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: reply dropped: %s", strerror(errno));
	free(text);
}

static void drop_client(struct client *c)
{
	evloop_del(c->fd);
	close(c->fd);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (clients[i] == c)
			clients[i] = NULL;
	free(c);
}

static void on_client(void *opaque, uint32_t events)
{
	struct client *c = opaque;
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0 || (events & (EPOLLHUP | EPOLLERR) && n <= 0)) {
		drop_client(c);
		return;
	}
	c->len += (size_t)n;
	char *nl;
	while ((nl = memchr(c->buf, '\n', c->len))) {
		*nl = '\0';
		send_reply(c, handle_line(c->buf));
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len);
	}
	if (c->len == sizeof(c->buf)) {
		send_reply(c, error_reply(NULL, -32600, "request line too long"));
		drop_client(c);
	}
}

static void on_accept(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (clients[i])
			continue;
		clients[i] = calloc(1, sizeof(*clients[i]));
		if (clients[i]) {
			clients[i]->fd = fd;
			if (evloop_add(fd, EPOLLIN, on_client, clients[i]) == 0)
				return;
			free(clients[i]);
			clients[i] = NULL;
		}
		break;
	}
	close(fd);
}

int control_init(struct vm *vm, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	the_vm = vm;
	clock_gettime(CLOCK_MONOTONIC, &started);
	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("control socket path '%s' is too long", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		log_error("cannot create control socket '%s': %s", path, strerror(errno));
		if (listen_fd >= 0)
			close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	strcpy(socket_path, path);
	if (listen(listen_fd, 8) < 0 || evloop_add(listen_fd, EPOLLIN, on_accept, NULL) < 0) {
		log_error("cannot listen on control socket '%s': %s", path, strerror(errno));
		control_close();
		return -1;
	}
	return 0;
}

void control_close(void)
{
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (clients[i])
			drop_client(clients[i]);
	if (listen_fd >= 0) {
		evloop_del(listen_fd);
		close(listen_fd);
		unlink(socket_path);
		listen_fd = -1;
	}
}
