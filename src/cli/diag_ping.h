/*
 * `esxcli network diag ping`, run by esxcli itself (docs/esxcli.md).
 *
 * A ping takes seconds (three requests a second apart by default) and
 * vmkd answers requests one at a time on its main thread, so the ping is
 * not a request to vmkd: esxcli asks vmkd only what the names mean (the
 * adapter's netstack: network.ip.interface.get; that a netstack exists:
 * network.ip.netstack.get), then enters the stack's namespace itself
 * with the icmp_ping engine, as vmkping does, and returns the reference's
 * result, a Trace of the replies and a Summary, for the formatters.
 */
#ifndef VMK_CLI_DIAG_PING_H
#define VMK_CLI_DIAG_PING_H

#include <stddef.h>

#include <jansson.h>

#define DIAG_PING_METHOD "network.diag.ping"

/* Runs the ping of params (stolen).  0 with *result, or a negative code
 * with a one-line message in msg. */
int diag_ping(const char *instance, json_t *params, json_t **result, char *msg,
	      size_t msglen);

#endif
