/*
 * vmkd's JSON-RPC 2.0 API (docs/vmkd.md, "API").
 *
 * Handlers register by method name.  Before a handler runs, api.c checks
 * its params against the command table (cmdtable_validate), opens a store
 * transaction and holds the log; a handler that returns a result gets
 * its transaction committed (and its log lines written) before the reply
 * is sent; one that fails through api_fail() gets it rolled back, so bad
 * input changes nothing.  Handlers run one at a time on the main thread.
 */
#ifndef VMKD_API_H
#define VMKD_API_H

#include <stdbool.h>

#include <jansson.h>

#include "cmdtable.h"
#include "jsonrpc.h"

/* A handler returns its result (a new reference), or NULL after api_fail(). */
typedef json_t *(*api_handler)(json_t *params);

struct api_method {
	const char *method;
	api_handler fn;
};

/* Registers a table of methods ending with {NULL}. */
void api_register(const struct api_method *methods);
/* The same for methods that need no command-table entry (vim-cmd's, and
 * vmk extensions such as network.vm.port.add): their handlers check their
 * params themselves.  A method found in a table is validated by it. */
void api_register_raw(const struct api_method *methods);
/* Another command table whose methods vmkd validates (vim-cmd's). */
void api_add_table(const struct cmd_table *t);

/* Records the request's error and returns NULL (for `return api_fail(...)`). */
json_t *api_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define api_invalid(...) api_fail(JSONRPC_INVALID_PARAMS, __VA_ARGS__)
#define api_refused(...) api_fail(JSONRPC_FAILED, __VA_ARGS__)
/* The store failed under a handler. */
json_t *api_store_error(void);

/* Listens on the socket path and serves clients from the event loop. */
int api_listen(const char *path, char *err, size_t errlen);
void api_close(void);

/* Handles one request line; returns the reply line (malloc'd, with its
 * newline) or NULL for a notification. */
char *api_handle_line(const char *line, size_t len, size_t *outlen);

/* Params as handlers read them (already type-checked). */
static inline const char *param_str(json_t *p, const char *key)
{
	return json_string_value(json_object_get(p, key));
}

static inline bool param_has(json_t *p, const char *key)
{
	return json_object_get(p, key) != NULL;
}

static inline long long param_int(json_t *p, const char *key, long long def)
{
	json_t *v = json_object_get(p, key);
	return v ? json_integer_value(v) : def;
}

static inline bool param_bool(json_t *p, const char *key, bool def)
{
	json_t *v = json_object_get(p, key);
	return v ? json_is_true(v) : def;
}

#endif
