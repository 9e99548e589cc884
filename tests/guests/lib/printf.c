/*
 * A minimal printf: conversions d i u x X p s c %, flags - 0 #, a field
 * width (digits or *), a precision for %s, and the length modifiers h hh l ll z.  Output goes
 * to the serial port or into a buffer (snprintf).
 */
#include "guest.h"

struct sink {
	char *buf;              /* NULL: serial */
	size_t size, len;
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void emit_field(struct sink *s, const char *p, size_t n, unsigned width,
		       bool left, char pad, const char *prefix)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	size_t total = n + plen;
	if (pad == '0' && !left) {
		for (size_t i = 0; i < plen; i++)
			emit(s, prefix[i]);
		plen = 0;
	}
	if (!left)
		for (size_t i = total; i < width; i++)
			emit(s, pad);
	for (size_t i = 0; i < plen; i++)
		emit(s, prefix[i]);
	for (size_t i = 0; i < n; i++)
		emit(s, p[i]);
	if (left)
		for (size_t i = total; i < width; i++)
			emit(s, ' ');
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
	char tmp[24];
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		bool left = false, alt = false;
		char pad = ' ';
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		unsigned width = 0;
		if (*fmt == '*') {
			int w = va_arg(ap, int);
			width = w < 0 ? 0 : (unsigned)w;
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		int prec = -1;          /* used by %s only */
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		int lng = 0;            /* 0 int, 1 long, 2 long long/size_t */
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'z')
				lng = 2;
			else if (*fmt == 'h')
				;
			else
				break;
		}
		char c = *fmt;
		if (!c)
			break;
		switch (c) {
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			emit_field(s, tmp, 1, width, left, ' ', NULL);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			size_t n = 0;
			while (str[n] && (prec < 0 || n < (size_t)prec))
				n++;
			emit_field(s, str, n, width, left, ' ', NULL);
			break;
		}
		case 'd': case 'i': case 'u': case 'x': case 'X': case 'p': {
			uint64_t v;
			bool neg = false;
			unsigned base = (c == 'x' || c == 'X' || c == 'p') ? 16 : 10;
			if (c == 'p') {
				v = (uintptr_t)va_arg(ap, void *);
				alt = true;
			} else if (c == 'd' || c == 'i') {
				int64_t sv = lng == 0 ? va_arg(ap, int) : lng == 1 ? va_arg(ap, long) : va_arg(ap, long long);
				if (sv < 0) {
					neg = true;
					v = (uint64_t)0 - (uint64_t)sv;
				} else {
					v = (uint64_t)sv;
				}
			} else {
				v = lng == 0 ? va_arg(ap, unsigned) : lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
			}
			const char *digits = c == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
			size_t n = sizeof(tmp);
			do {
				tmp[--n] = digits[v % base];
				v /= base;
			} while (v);
			const char *prefix = neg ? "-" : (alt && base == 16) ? "0x" : NULL;
			emit_field(s, tmp + n, sizeof(tmp) - n, width, left, left ? ' ' : pad, prefix);
			break;
		}
		default:
			emit(s, '%');
			emit(s, c);
			break;
		}
	}
	return (int)s->len;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { NULL, 0, 0 };
	return format(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	struct sink s = { buf, size, 0 };
	va_list ap;
	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = 0;
	return (int)s.len;
}
