/*
 * Kernel command line access.  The line is split at spaces and tabs into
 * tokens; "key=value" tokens are looked up by exact key.  A key may occur
 * several times (virtio_mmio.device=...), hence the nth argument.
 */
#include "guest.h"

const char *cmdline(void)
{
	if (!start_info || !start_info->cmdline_paddr)
		return "";
	return (const char *)(uintptr_t)start_info->cmdline_paddr;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool cmdline_find(const char *key, unsigned nth, const char **val, size_t *len)
{
	const char *p = cmdline();
	size_t klen = strlen(key);
	while (*p) {
		while (*p && is_space(*p))
			p++;
		const char *tok = p;
		while (*p && !is_space(*p))
			p++;
		size_t tlen = (size_t)(p - tok);
		if (tlen > klen && tok[klen] == '=' && strncmp(tok, key, klen) == 0) {
			if (nth-- == 0) {
				*val = tok + klen + 1;
				*len = tlen - klen - 1;
				return true;
			}
		}
	}
	return false;
}

size_t parse_u64(const char *s, size_t len, uint64_t *out)
{
	size_t i = 0;
	unsigned base = 10;
	uint64_t v = 0;
	if (len >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	size_t start = i;
	for (; i < len; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		v = v * base + d;
	}
	if (i == start)
		return 0;
	*out = v;
	return i;
}

size_t parse_size(const char *s, size_t len, uint64_t *out)
{
	size_t n = parse_u64(s, len, out);
	if (n && n < len) {
		switch (s[n]) {
		case 'k': case 'K': *out <<= 10; n++; break;
		case 'm': case 'M': *out <<= 20; n++; break;
		case 'g': case 'G': *out <<= 30; n++; break;
		}
	}
	return n;
}

uint64_t cmdline_u64(const char *key, uint64_t def)
{
	const char *v;
	size_t len;
	uint64_t x;
	if (!cmdline_find(key, 0, &v, &len))
		return def;
	if (parse_size(v, len, &x) != len)
		return def;
	return x;
}

bool parse_ipv4(const char *s, size_t len, uint8_t ip[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		uint64_t v;
		size_t n = parse_u64(s + i, len - i, &v);
		if (!n || v > 255 || (n >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')))
			return false;
		ip[part] = (uint8_t)v;
		i += n;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}
