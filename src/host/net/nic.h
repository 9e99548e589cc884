/*
 * Inside the NIC model: what nic.c (names, list, admin state) shares
 * with nic_ethtool.c (`nic get`) and nic_stats.c (`nic stats get`).
 *
 * Every command that names a NIC resolves its vmnicN name with
 * nic_lookup() first, so an unknown name fails the same way everywhere
 * and only NICs of vmkd's own namespace are ever touched.
 */
#ifndef VMKD_NET_NIC_H
#define VMKD_NET_NIC_H

#include <jansson.h>

#include "model.h"

/* Fills n for the NIC named vmnic name (param `--nic-name`).  0, or -1
 * after api_fail() naming the bad value. */
int nic_lookup(const char *name, struct nic_info *n);

/* The result of `network nic get` for n (nic_ethtool.c); sock is an
 * AF_INET socket of vmkd's namespace for the ioctls. */
json_t *nic_details_json(int sock, const struct nic_info *n);

/* The result of `network nic stats get` for n (nic_stats.c), or NULL
 * after api_fail(). */
json_t *nic_stats_json(const struct nic_info *n);

#endif
