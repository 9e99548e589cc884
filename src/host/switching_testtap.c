/*
 * TEMPORARY (to be removed once `esxcli network ip interface add` lands):
 * VMKD_TEST_TAPS="NAME,NETNS,PORTGROUP,MAC;..." makes TAPs at start and
 * attaches them, so the datapath can be tested before the vmknic code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switching.h"
#include "switching_internal.h"
#include "vmklog.h"

void sw_test_taps(void);

void sw_test_taps(void)
{
	const char *env = getenv("VMKD_TEST_TAPS");
	char buf[4096], err[256];

	if (!env)
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *save = NULL, *item = strtok_r(buf, ";", &save); item;
	     item = strtok_r(NULL, ";", &save)) {
		char name[32], ns[64], pg[64];
		unsigned m[6];
		uint8_t mac[6];
		if (sscanf(item, "%31[^,],%63[^,],%63[^,],%x:%x:%x:%x:%x:%x", name, ns, pg, &m[0], &m[1],
			   &m[2], &m[3], &m[4], &m[5]) != 9)
			continue;
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
		int fd = dp_tap_open(name, strcmp(ns, "-") ? ns : NULL, err, sizeof(err));
		if (fd < 0 || dp_tap_set_mac(fd, mac) < 0) {
			vmklog_warn("Net", "test TAP %s: %s", name, err);
			continue;
		}
		switching_attach_vmknic(name, pg, fd, mac);
	}
}
