/*
 * The few memory and string functions the guests use.  GCC may also emit
 * calls to memcpy, memset, memmove and memcmp on its own, so these keep
 * their standard names.  The string instructions keep the instruction
 * count low under an emulating KVM.
 */
#include "guest.h"

void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;
	__asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return ret;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	/* overlapping with d above s: copy backwards */
	dp += n - 1;
	sp += n - 1;
	__asm__ __volatile__("std; rep movsb; cld" : "+D"(dp), "+S"(sp), "+c"(n) : : "memory");
	return d;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	__asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			break;
	}
	return 0;
}
