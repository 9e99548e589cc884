/*
 * JSON-RPC client over vmkd's Unix socket.  The socket path follows the
 * instance layout of docs/vmkd.md; a reply is read up to its newline
 * with a generous timeout, so a wedged daemon cannot hang a script.
 */
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsonrpc.h"

#define REPLY_TIMEOUT_S 120

const char *rpc_instance(const char *name)
{
	if (!name || !name[0])
		name = getenv("VMK_INSTANCE");
	return (name && name[0]) ? name : "default";
}

int rpc_socket_path(const char *instance, char *buf, size_t len)
{
	const char *root = getenv("VMK_ROOT");
	int n = snprintf(buf, len, "%s/run/vmk/%s/vmkd.sock", root ? root : "", instance);

	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int connect_to(const char *instance, char *msg, size_t msglen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };

	if (rpc_socket_path(instance, sa.sun_path, sizeof(sa.sun_path)) < 0) {
		snprintf(msg, msglen, "Socket path of instance '%s' is too long", instance);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(msg, msglen, "Cannot connect to vmkd of instance '%s' at %s: %s", instance,
			 sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reads up to the first newline; the line (malloc'd) or NULL. */
static char *read_line(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		char *nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
		if (nl) {
			*len = (size_t)(nl - buf);
			return buf;
		}
		if (n == cap && cap < JSONRPC_LINE_MAX) {
			char *p = realloc(buf, cap *= 2);
			if (!p)
				break;
			buf = p;
		} else if (n == cap) {
			break;
		}
	}
	free(buf);
	return NULL;
}

int rpc_call(const char *instance, const char *method, json_t *params, json_t **result,
	     char *msg, size_t msglen)
{
	json_t *req = jsonrpc_request(1, method, params ? params : json_object());
	size_t len;
	char *line = jsonrpc_line(req, &len);
	int fd = connect_to(instance, msg, msglen), rc = JSONRPC_INTERNAL_ERROR;

	json_decref(req);
	*result = NULL;
	if (fd >= 0 && line) {
		char *reply = NULL;
		if (send_all(fd, line, len) == 0 && (reply = read_line(fd, &len)))
			rc = jsonrpc_parse_reply(reply, len, result, msg, msglen);
		else
			snprintf(msg, msglen, "No reply from vmkd of instance '%s': %s", instance,
				 errno ? strerror(errno) : "connection closed");
		free(reply);
	}
	if (fd >= 0)
		close(fd);
	free(line);
	return rc;
}
