/*
 * The API server.  Clients connect to the Unix socket, write requests as
 * lines and read one reply line per request (none for a notification).
 * Sockets are non-blocking; a client's unread replies wait in its output
 * buffer, so a slow reader never stalls the daemon.
 *
 * A request runs as: look up the command (cmdtable) and its handler,
 * validate params, BEGIN IMMEDIATE, handler, COMMIT (or ROLLBACK), reply.
 */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmdtable.h"
#include "loop.h"
#include "store.h"
#include "switching.h"
#include "vmklog.h"

#define MAX_METHODS 128

struct conn {
	int fd;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	bool closing;
};

#define MAX_TABLES 4

static const struct api_method *methods[MAX_METHODS];
static bool raw[MAX_METHODS];
static int nr_methods;
static const struct cmd_table *tables[MAX_TABLES] = { &esxcli_table };
static int nr_tables = 1;
static int listen_fd = -1;
static int err_code;
static char err_msg[1024];

void api_register(const struct api_method *list)
{
	for (; list->method && nr_methods < MAX_METHODS; list++)
		methods[nr_methods++] = list;
}

void api_register_raw(const struct api_method *list)
{
	for (; list->method && nr_methods < MAX_METHODS; list++) {
		raw[nr_methods] = true;
		methods[nr_methods++] = list;
	}
}

void api_add_table(const struct cmd_table *t)
{
	if (nr_tables < MAX_TABLES)
		tables[nr_tables++] = t;
}

static api_handler find_handler(const char *method, bool *is_raw)
{
	for (int i = 0; i < nr_methods; i++)
		if (strcmp(methods[i]->method, method) == 0) {
			*is_raw = raw[i];
			return methods[i]->fn;
		}
	return NULL;
}

static const struct cmd *find_cmd(const char *method)
{
	for (int i = 0; i < nr_tables; i++) {
		const struct cmd *c = cmdtable_find_method(tables[i], method);
		if (c)
			return c;
	}
	return NULL;
}

json_t *api_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	err_code = code;
	return NULL;
}

json_t *api_store_error(void)
{
	vmklog_warn("Config", "store error: %s", store_errmsg());
	return api_fail(JSONRPC_INTERNAL_ERROR, "Store error: %s", store_errmsg());
}

/* Runs a validated request in its own transaction. */
static json_t *run(api_handler fn, json_t *params)
{
	if (store_begin() < 0)
		return api_store_error();
	vmklog_hold();
	json_t *result = fn(params);
	if (result && store_commit() < 0) {
		json_decref(result);
		result = api_store_error();
	}
	if (!result)
		store_rollback();
	vmklog_release(result != NULL);
	if (result)
		switching_sync();	/* the datapath follows what was committed */
	return result;
}

static json_t *dispatch(const char *method, json_t *params)
{
	const struct cmd *c = find_cmd(method);
	bool is_raw = false;
	api_handler fn = find_handler(method, &is_raw);
	char err[512];

	if ((!c && !is_raw) || !fn)
		return api_fail(JSONRPC_METHOD_NOT_FOUND, "Unknown method '%s'", method);
	if (c && cmdtable_validate(c, params, err, sizeof(err)) < 0)
		return api_invalid("%s", err);
	return run(fn, params);
}

static json_t *handle(json_t *req)
{
	const char *method = json_string_value(json_object_get(req, "method"));
	json_t *params = json_object_get(req, "params");

	if (!json_is_object(req) || !method ||
	    !json_is_string(json_object_get(req, "jsonrpc")))
		return api_fail(JSONRPC_INVALID_REQUEST, "Invalid JSON-RPC 2.0 request");
	if (params && !json_is_object(params))
		return api_invalid("params must be an object");
	json_t *empty = params ? NULL : json_object();
	json_t *result = dispatch(method, params ? params : empty);
	json_decref(empty);
	return result;
}

char *api_handle_line(const char *line, size_t len, size_t *outlen)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr), *reply;

	if (!req) {
		reply = jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "Parse error");
	} else {
		json_t *result = handle(req), *id = json_object_get(req, "id");
		bool notification = json_is_object(req) && !id &&
				    json_is_string(json_object_get(req, "method"));
		if (notification) {
			json_decref(result);
			json_decref(req);
			return NULL;
		}
		reply = result ? jsonrpc_result(id, result) : jsonrpc_error(id, err_code, err_msg);
	}
	char *out = jsonrpc_line(reply, outlen);
	json_decref(reply);
	json_decref(req);
	return out;
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
	loop_del(c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static int out_append(struct conn *c, const char *data, size_t n)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	char *p = realloc(c->out, c->out_len + n);
	if (!p)
		return -1;
	memcpy(p + c->out_len, data, n);
	c->out = p;
	c->out_len += n;
	return 0;
}

/* Writes what it can; 0 when all is out, 1 when some waits, -1 on error. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 1;
		if (w < 0)
			return -1;
		c->out_off += (size_t)w;
	}
	return 0;
}

static int serve_lines(struct conn *c)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(c->in + start, '\n', c->in_len - start))) {
		size_t n = (size_t)(nl - (c->in + start)), outlen;
		char *reply = api_handle_line(c->in + start, n, &outlen);
		if (reply && out_append(c, reply, outlen) < 0) {
			free(reply);
			return -1;
		}
		free(reply);
		start += n + 1;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	return c->in_len >= JSONRPC_LINE_MAX ? -1 : 0;
}

/* Reads what is there; 0 at EOF, 1 when more may come, -1 on error. */
static int fill_in(struct conn *c)
{
	for (;;) {
		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
			char *p = realloc(c->in, cap);
			if (!p)
				return -1;
			c->in = p;
			c->in_cap = cap;
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? 1 : -1;
		if (r == 0)
			return 0;
		c->in_len += (size_t)r;
	}
}

static void conn_event(void *arg, uint32_t events)
{
	struct conn *c = arg;
	int in = 1;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		in = fill_in(c);
		if (in < 0 || serve_lines(c) < 0) {
			conn_close(c);
			return;
		}
		if (in == 0)
			c->closing = true;
	}
	int out = flush_out(c);
	if (out < 0 || (out == 0 && c->closing)) {
		conn_close(c);
		return;
	}
	loop_mod(c->fd, (c->closing ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0));
}

static void accept_event(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct conn *c = calloc(1, sizeof(*c));
		if (!c || loop_add(fd, EPOLLIN, conn_event, c) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
	}
}

int api_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(path);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(listen_fd, 128) < 0 ||
	    loop_add(listen_fd, EPOLLIN, accept_event, NULL) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void api_close(void)
{
	if (listen_fd >= 0) {
		loop_del(listen_fd);
		close(listen_fd);
	}
	listen_fd = -1;
}
