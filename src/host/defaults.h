/*
 * What a new host has (docs/vmkd.md, "Store"): created on the first
 * start, in the same transaction as the schema.
 */
#ifndef VMKD_DEFAULTS_H
#define VMKD_DEFAULTS_H

#include <stdbool.h>

#include "instance.h"

struct mgmt_ip {
	bool set;
	char address[16]; /* dotted quad */
	char netmask[16];
};

/* Parses --mgmt-ip ADDR/PREFIX.  0, or -1. */
int defaults_parse_mgmt_ip(const char *arg, struct mgmt_ip *out);

/* Creates vSwitch0, its port groups, defaultTcpipStack, vmk0 and the
 * host name.  0, or -1 (the store's error tells why). */
int defaults_create(const struct instance *in, const struct mgmt_ip *ip);

#endif
