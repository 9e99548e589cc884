/*
 * MAC addresses of VMkernel adapters.  The reference's host generates
 * them in VMware's OUI 00:50:56, and the adapters seen in its output sit
 * in 00:50:56:6x:xx:xx (below vCenter's 80-BF range, above the manual
 * 00-3F range); vmkd generates addresses of that form, random below the
 * prefix, and unique among the adapters of the store.
 */
#ifndef VMKD_MACADDR_H
#define VMKD_MACADDR_H

#include <stdbool.h>

#define MAC_STR_LEN 18 /* "00:50:56:6c:01:11" and the NUL */

/* A fresh VMkernel MAC not used by any adapter in the store.  0, or -1. */
int macaddr_generate_vmk(char out[MAC_STR_LEN]);
/* Parses "xx:xx:xx:xx:xx:xx" (either case) into lower case; false if bad. */
bool macaddr_normalize(const char *in, char out[MAC_STR_LEN]);

#endif
