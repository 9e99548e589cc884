/*
 * JSON-RPC 2.0 message helpers.  Lines are compact JSON (no newline can
 * occur inside, since strings escape it) with the keys in insertion
 * order, so a reply reads the same every time.
 */
#include "jsonrpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *jsonrpc_request(json_int_t id, const char *method, json_t *params)
{
	json_t *m = json_object();

	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "method", json_string(method));
	if (params)
		json_object_set_new(m, "params", params);
	return m;
}

static json_t *reply(json_t *id)
{
	json_t *m = json_object();

	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set(m, "id", id ? id : json_null());
	return m;
}

json_t *jsonrpc_result(json_t *id, json_t *result)
{
	json_t *m = reply(id);

	json_object_set_new(m, "result", result ? result : json_true());
	return m;
}

json_t *jsonrpc_error(json_t *id, int code, const char *message)
{
	json_t *m = reply(id), *e = json_object();

	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "message", json_string(message));
	json_object_set_new(m, "error", e);
	return m;
}

char *jsonrpc_line(json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

static int reply_error(json_t *err, char *msg, size_t msglen)
{
	json_t *code = json_object_get(err, "code");
	const char *text = json_string_value(json_object_get(err, "message"));

	snprintf(msg, msglen, "%s", text ? text : "unknown error");
	if (!json_is_integer(code) || json_integer_value(code) >= 0)
		return JSONRPC_INTERNAL_ERROR;
	return (int)json_integer_value(code);
}

int jsonrpc_parse_reply(const char *line, size_t len, json_t **result,
			char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *m = json_loadb(line, len, 0, &jerr), *v;
	int rc = JSONRPC_PARSE_ERROR;

	*result = NULL;
	if (!json_is_object(m)) {
		snprintf(msg, msglen, "malformed reply from vmkd");
	} else if ((v = json_object_get(m, "error"))) {
		rc = reply_error(v, msg, msglen);
	} else if ((v = json_object_get(m, "result"))) {
		*result = json_incref(v);
		rc = 0;
	} else {
		snprintf(msg, msglen, "reply from vmkd has neither result nor error");
	}
	json_decref(m);
	return rc;
}
