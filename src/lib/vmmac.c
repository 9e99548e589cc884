/*
 * VM identity: uuid.bios and VM MAC addresses (rules in vmmac.h).
 *
 * Everything here is pure formatting and arithmetic except
 * vmx_uuid_generate(), which draws from getrandom().  The parsers are
 * strict: a .vmx is hostile input, and a MAC or UUID that parses
 * "almost" would give two VMs the same identity.
 */
#include "vmmac.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Two hex digits at s into *out; -1 if either is not hex. */
static int hexbyte(const char *s, uint8_t *out)
{
	int hi = hexval(s[0]), lo;

	if (hi < 0)
		return -1;
	lo = hexval(s[1]);
	if (lo < 0)
		return -1;
	*out = (uint8_t)(hi << 4 | lo);
	return 0;
}

void vmx_uuid_format(const uint8_t u[16], char buf[VMX_UUID_STRLEN])
{
	snprintf(buf, VMX_UUID_STRLEN,
		 "%02x %02x %02x %02x %02x %02x %02x %02x-"
		 "%02x %02x %02x %02x %02x %02x %02x %02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

int vmx_uuid_parse(const char *s, uint8_t uuid[16])
{
	for (int i = 0; i < 16; i++) {
		if (hexbyte(s, &uuid[i]) < 0)
			return -1;
		s += 2;
		if (i == 15)
			break;
		if (*s != (i == 7 ? '-' : ' '))
			return -1;
		s++;
	}
	return *s == '\0' ? 0 : -1;
}

void vmx_mac_format(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
}

int vmx_mac_parse(const char *s, uint8_t mac[6])
{
	char sep = 0;

	for (int i = 0; i < 6; i++) {
		if (hexbyte(s, &mac[i]) < 0)
			return -1;
		s += 2;
		if (i == 5)
			break;
		/* one separator for the whole address: no "00:0c-29..." */
		if (*s != ':' && *s != '-')
			return -1;
		if (sep == 0)
			sep = *s;
		if (*s != sep)
			return -1;
		s++;
	}
	return *s == '\0' ? 0 : -1;
}

void vmx_mac_generated(const uint8_t uuid[16], unsigned offset, uint8_t mac[6])
{
	uint32_t low = (uint32_t)uuid[13] << 16 | (uint32_t)uuid[14] << 8 | uuid[15];

	low = (low + offset) & 0xffffffu; /* stays inside the 00:0c:29 block */
	mac[0] = 0x00;
	mac[1] = 0x0c;
	mac[2] = 0x29;
	mac[3] = (uint8_t)(low >> 16);
	mac[4] = (uint8_t)(low >> 8);
	mac[5] = (uint8_t)low;
}

int vmx_uuid_generate(uint8_t uuid[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(uuid + got, 16 - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	uuid[0] = 0x56; /* the prefix VMware's generated uuid.bios carry */
	uuid[1] = 0x4d;
	return 0;
}

static bool vmware_oui(const uint8_t m[6])
{
	return m[0] == 0x00 && m[1] == 0x50 && m[2] == 0x56;
}

bool vmx_mac_is_static_range(const uint8_t m[6])
{
	return vmware_oui(m) && m[3] <= 0x3f;
}

bool vmx_mac_is_vpx_range(const uint8_t m[6])
{
	return vmware_oui(m) && m[3] >= 0x80 && m[3] <= 0xbf;
}

bool vmx_mac_is_generated_range(const uint8_t m[6])
{
	return m[0] == 0x00 && m[1] == 0x0c && m[2] == 0x29;
}

bool vmx_mac_is_unicast(const uint8_t m[6])
{
	if (m[0] & 1)
		return false;
	for (int i = 0; i < 6; i++)
		if (m[i])
			return true;
	return false;
}
