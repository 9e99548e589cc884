/*
 * CRC-32 as zlib computes it (reflected polynomial 0xedb88320, initial
 * and final inversion), so a test can check a guest's checksum line with
 * zlib.crc32() / binascii.crc32().  The table is built on first use.
 */
#include "guest.h"

static uint32_t table[256];

uint32_t crc32(uint32_t crc, const void *buf, size_t len)
{
	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	const uint8_t *p = buf;
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}
