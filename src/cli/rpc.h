/*
 * The clients' side of vmkd's API: find the instance's socket, send one
 * JSON-RPC request, read its reply (docs/vmkd.md, "API").  One connect,
 * one request, one reply: the whole round trip of an esxcli command.
 */
#ifndef VMK_CLI_RPC_H
#define VMK_CLI_RPC_H

#include <stddef.h>

#include <jansson.h>

/* The instance a client talks to: name (if given), else $VMK_INSTANCE,
 * else "default". */
const char *rpc_instance(const char *name);

/* $VMK_ROOT/run/vmk/NAME/vmkd.sock into buf; -1 if too long. */
int rpc_socket_path(const char *instance, char *buf, size_t len);

/*
 * Calls method with params (stolen; NULL for none).  0 with *result (a
 * new reference), or a negative code (a JSON-RPC error code, or
 * JSONRPC_INTERNAL_ERROR when vmkd could not be reached) with a one-line
 * message in msg.
 */
int rpc_call(const char *instance, const char *method, json_t *params, json_t **result,
	     char *msg, size_t msglen);

#endif
