/*
 * The `esxcli system` handlers: version, host name, uptime.
 */
#ifndef VMKD_SYSTEM_H
#define VMKD_SYSTEM_H

/* Registers the handlers; uptime counts from this call. */
void system_register(void);

/* Checks a host name as `system hostname set --host` accepts it. */
int system_hostname_ok(const char *host);

#endif
