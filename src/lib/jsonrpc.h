/*
 * JSON-RPC 2.0 messages as vmkd and its clients exchange them: one JSON
 * object per line on a Unix stream socket (docs/vmkd.md, "API").  This
 * file builds and reads the messages; moving the bytes is the caller's.
 */
#ifndef VMK_JSONRPC_H
#define VMK_JSONRPC_H

#include <stddef.h>

#include <jansson.h>

enum jsonrpc_code {
	JSONRPC_PARSE_ERROR = -32700,
	JSONRPC_INVALID_REQUEST = -32600,
	JSONRPC_METHOD_NOT_FOUND = -32601,
	JSONRPC_INVALID_PARAMS = -32602,
	JSONRPC_INTERNAL_ERROR = -32603,
	JSONRPC_FAILED = -32000, /* the operation was refused or failed */
};

/* The longest line either side accepts. */
#define JSONRPC_LINE_MAX (16u << 20)

/* Builds a request; params is stolen (NULL: none). */
json_t *jsonrpc_request(json_int_t id, const char *method, json_t *params);
/* Builds replies to a request whose id is `id` (borrowed; NULL: null). */
json_t *jsonrpc_result(json_t *id, json_t *result);
json_t *jsonrpc_error(json_t *id, int code, const char *message);

/* msg as one line ending in '\n' (malloc'd; *len without the NUL). */
char *jsonrpc_line(json_t *msg, size_t *len);

/*
 * Reads a reply line.  0 with *result (a new reference), or the error's
 * code (negative) with its message in msg; a line that is not a JSON-RPC
 * reply reads as JSONRPC_PARSE_ERROR.
 */
int jsonrpc_parse_reply(const char *line, size_t len, json_t **result,
			char *msg, size_t msglen);

#endif
