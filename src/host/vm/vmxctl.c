/*
 * vmkd's side of vmx's control socket (docs/vmx.md, "Control socket"):
 * one JSON object per line, {"id": N, "method": M} -> {"id": N, "result":
 * ...} or {"id": N, "error": {...}}.
 *
 * vmkd keeps one connection per running VM and makes its calls on it
 * synchronously, with a deadline: requests run one at a time on the main
 * thread anyway, and vmx answers from its I/O thread at once.  A reply
 * whose id is not the one asked for (a late reply to a call that timed
 * out) is skipped.  A connection that fails is closed and made again on
 * the next call (vmx re-executes itself on a guest reset and makes a new
 * socket).  A call that timed out is not tried again: a vmx that does
 * not answer would only cost the main thread the wait twice.
 *
 * vmx is not trusted more than it must be: lines are bounded, the result
 * is checked by the caller, and no wait is unbounded.  Every wait here
 * stalls all of vmkd (the API runs on the main thread), so the socket
 * gets a send timeout too: connect(2) on a Unix socket whose listener
 * stopped accepting blocks once its backlog is full, and honours
 * SO_SNDTIMEO; a request's send blocks only if vmx stopped reading.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"

#define LINE_MAX_BYTES 65536
#define CONNECT_TIMEOUT_MS 1000

int vmxctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one line into a malloc'd buffer by the deadline; NULL on error. */
static char *read_line(int fd, long long deadline, char *err, size_t errlen)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	while (buf) {
		int left = (int)(deadline - now_ms());
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) <= 0) {
			snprintf(err, errlen, "vmx did not answer in time");
			break;
		}
		if (len + 1 >= cap) {
			char *nb = cap < LINE_MAX_BYTES ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				snprintf(err, errlen, "vmx's reply is too long");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		/* One byte at a time past the newline would lose the next
		 * reply; replies are small, so read up to it only. */
		ssize_t r = recv(fd, buf + len, 1, 0);
		if (r <= 0) {
			snprintf(err, errlen, "vmx closed its control socket");
			break;
		}
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return buf;
		}
		len++;
	}
	free(buf);
	return NULL;
}

static json_t *exchange(int fd, const char *method, int timeout_ms, char *err, size_t errlen)
{
	static long long next_id = 1;
	long long id = next_id++, deadline = now_ms() + timeout_ms;
	char req[128];
	int n = snprintf(req, sizeof(req), "{\"id\":%lld,\"method\":\"%s\"}\n", id, method);

	if (n < 0 || (size_t)n >= sizeof(req) || send_all(fd, req, (size_t)n) < 0) {
		snprintf(err, errlen, "cannot send '%s' to vmx", method);
		return NULL;
	}
	for (;;) {
		char *line = read_line(fd, deadline, err, errlen);
		if (!line)
			return NULL;
		json_t *reply = json_loads(line, 0, NULL);
		free(line);
		json_t *rid = json_object_get(reply, "id");
		if (!json_is_integer(rid) || json_integer_value(rid) != id) {
			json_decref(reply);
			continue;
		}
		json_t *result = json_incref(json_object_get(reply, "result"));
		const char *msg = json_string_value(json_object_get(json_object_get(reply, "error"),
								   "message"));
		if (!result)
			snprintf(err, errlen, "vmx refused '%s': %.200s", method,
				 msg ? msg : "no result");
		json_decref(reply);
		return result;
	}
}

static void ctl_close(struct vm_live *v)
{
	if (v->ctl_fd >= 0)
		close(v->ctl_fd);
	v->ctl_fd = -1;
}

json_t *vmxctl_call(struct vm_live *v, const char *method, int timeout_ms, char *err,
		    size_t errlen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (v->ctl_fd < 0 && (v->ctl_fd = vmxctl_connect(v->ctl_path)) < 0) {
			snprintf(err, errlen, "cannot connect to vmx's control socket %s: %s",
				 v->ctl_path, strerror(errno));
			return NULL;
		}
		json_t *r = exchange(v->ctl_fd, method, timeout_ms, err, errlen);
		if (r || strstr(err, "refused") || strstr(err, "in time"))
			return r;
		ctl_close(v);	/* a stale connection: once more on a new one */
	}
	return NULL;
}

long long vmxctl_world_id(struct vm_live *v)
{
	char err[256];
	json_t *q = vmxctl_call(v, "query", 2000, err, sizeof(err));
	json_t *tid = json_array_get(json_object_get(q, "vcpu_tids"), 0);
	long long w = json_is_integer(tid) ? json_integer_value(tid) : 0;

	json_decref(q);
	/* vCPU 0 is a thread of vmx: anything else is not believed. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%lld", (int)v->pid, w);
	return (w > 0 && access(path, F_OK) == 0) ? w : v->pid;
}
