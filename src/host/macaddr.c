/*
 * VMkernel MAC generation: 00:50:56 + 0x60|random nibble + two random
 * bytes from getrandom(); retried on the (rare) collision with an
 * adapter already in the store.
 */
#include "macaddr.h"

#include <stdio.h>
#include <sys/random.h>

#include "store.h"

int macaddr_generate_vmk(char out[MAC_STR_LEN])
{
	for (int tries = 0; tries < 64; tries++) {
		unsigned char r[3];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return -1;
		snprintf(out, MAC_STR_LEN, "00:50:56:%02x:%02x:%02x", 0x60 | (r[0] & 0x0f), r[1],
			 r[2]);
		if (store_int(0, "SELECT count(*) FROM vmknic WHERE mac = ?", "s", out) == 0)
			return 0;
	}
	return -1;
}

bool macaddr_normalize(const char *in, char out[MAC_STR_LEN])
{
	unsigned b[6];
	char end;

	if (sscanf(in, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		return false;
	snprintf(out, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
		 b[5]);
	return true;
}
