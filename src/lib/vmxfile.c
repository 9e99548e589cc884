/*
 * .vmx files as ordered lines: parse, look up, change, save atomically.
 *
 * Every line of the file is kept with its raw bytes (terminator
 * included).  A key line also carries its key and its decoded value.
 * Saving writes the raw bytes of every line that vmk did not touch, so
 * comments, unknown keys, spacing, key spelling and CRLF endings come
 * back exactly; a line that vmxfile_set() changed is rewritten as
 * `key = "value"` with the key spelled as the file spelled it.
 *
 * Keys are case-insensitive and unique: a file naming a key twice is
 * refused (which of the two a VMware host would use is not something to
 * guess about on hostile input).  Lookups go through a small hash index
 * of lower-cased keys, so a large hostile file costs linear time.
 *
 * Values are UTF-8 after decoding the `|XX` escapes; a NUL, a raw
 * control byte or invalid UTF-8 is refused, so every value vmk hands on
 * (to JSON, to a command line) is a clean C string.
 */
#include "vmxfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define VMXFILE_MAX_LINES 16384u

struct vmx_line {
	char *raw;        /* verbatim bytes, terminator included */
	char *key;        /* NULL for a blank or comment line */
	char *value;      /* decoded */
	unsigned lineno;  /* 1-based; 0 for a line vmk added */
	bool dead;        /* removed by vmxfile_remove() */
};

struct vmxfile {
	char *name;
	struct vmx_line *lines;
	size_t nr, cap;
	unsigned *index;  /* hash slots: line number + 1, 0 = empty */
	size_t index_size; /* power of two, > 2 * key lines */
	size_t nr_keys;
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p; p++)	/* one line, whatever a file name holds */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* ---- key index ---------------------------------------------------- */

static size_t key_hash(const char *k)
{
	size_t h = 14695981039346656037ull;

	for (; *k; k++) {
		h ^= (unsigned char)tolower((unsigned char)*k);
		h *= 1099511628211ull;
	}
	return h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t index_slot(const struct vmxfile *f, const char *key)
{
	size_t mask = f->index_size - 1, i = key_hash(key) & mask;

	while (f->index[i]) {
		const struct vmx_line *l = &f->lines[f->index[i] - 1];

		if (strcasecmp(l->key, key) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

static int index_rebuild(struct vmxfile *f, size_t want_keys)
{
	size_t size = 64;

	while (size < 2 * want_keys + 2)
		size *= 2;
	unsigned *idx = calloc(size, sizeof(*idx));
	if (!idx)
		return -1;
	free(f->index);
	f->index = idx;
	f->index_size = size;
	f->nr_keys = 0;
	for (size_t i = 0; i < f->nr; i++) {
		if (!f->lines[i].key || f->lines[i].dead)
			continue;
		f->index[index_slot(f, f->lines[i].key)] = (unsigned)i + 1;
		f->nr_keys++;
	}
	return 0;
}

static struct vmx_line *find(const struct vmxfile *f, const char *key)
{
	size_t slot;

	if (!f->index)
		return NULL;
	slot = index_slot(f, key);
	return f->index[slot] ? &f->lines[f->index[slot] - 1] : NULL;
}

/* ---- characters ------------------------------------------------------ */

static bool key_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == ':' || c == '-';
}

static bool valid_key(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > VMXFILE_MAX_KEY)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!key_char(k[i]))
			return false;
	return true;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	unsigned cp = c & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool valid_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq(p + i, n - i);

		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

/* A byte that must be written as |XX. */
static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '"' || c == '|' || c == '#';
}

int vmxfile_escape(const char *value, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (needs_escape(*p)) {
			if (o + 3 >= len)
				return -1;
			buf[o++] = '|';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else {
			if (o + 1 >= len)
				return -1;
			buf[o++] = (char)*p;
		}
	}
	if (o >= len)
		return -1;
	buf[o] = '\0';
	return 0;
}

/* ---- parsing one line ------------------------------------------------ */

struct line_ctx {
	const char *name;
	unsigned lineno;
	char *err;
	size_t errlen;
};

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decodes the value bytes s[0..n) (quotes removed) into a new string.
 * NULL with err on a bad escape, NUL, control byte or invalid UTF-8.
 */
static char *decode_value(const struct line_ctx *c, const char *key, const char *s, size_t n)
{
	char *out;
	size_t o = 0;

	if (n > 3 * VMXFILE_MAX_VALUE) {
		fail(c->err, c->errlen, "%s:%u: %s: value longer than %u bytes", c->name,
		     c->lineno, key, VMXFILE_MAX_VALUE);
		return NULL;
	}
	out = malloc(n + 1);
	if (!out) {
		fail(c->err, c->errlen, "%s:%u: %s: out of memory", c->name, c->lineno, key);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b == '|') {
			int hi = i + 2 < n ? hexdigit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexdigit(s[i + 2]) : -1;

			if (hi >= 0 && lo >= 0) {
				b = (unsigned char)(hi << 4 | lo);
				i += 2;
				if (b == 0) {
					fail(c->err, c->errlen, "%s:%u: %s: value contains |00 (a NUL byte)",
					     c->name, c->lineno, key);
					goto bad;
				}
				out[o++] = (char)b;
				continue;
			}
			fail(c->err, c->errlen,
			     "%s:%u: %s: '|' must start an escape of two hex digits (|22 is a quote)",
			     c->name, c->lineno, key);
			goto bad;
		}
		if ((b < 0x20 && b != '\t') || b == 0x7f) {
			fail(c->err, c->errlen, "%s:%u: %s: control byte 0x%02x in the value", c->name,
			     c->lineno, key, b);
			goto bad;
		}
		out[o++] = (char)b;
	}
	out[o] = '\0';
	if (o > VMXFILE_MAX_VALUE) {
		fail(c->err, c->errlen, "%s:%u: %s: value longer than %u bytes", c->name, c->lineno,
		     key, VMXFILE_MAX_VALUE);
		goto bad;
	}
	if (!valid_utf8(out, o)) {
		fail(c->err, c->errlen, "%s:%u: %s: value is not valid UTF-8", c->name, c->lineno,
		     key);
		goto bad;
	}
	return out;
bad:
	free(out);
	return NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* After the value: only blanks and an optional comment may follow. */
static int check_tail(const struct line_ctx *c, const char *key, const char *p, const char *end)
{
	p = skip_ws(p, end);
	if (p < end && *p != '#') {
		fail(c->err, c->errlen, "%s:%u: %s: unexpected text after the value", c->name,
		     c->lineno, key);
		return -1;
	}
	return 0;
}

/*
 * Parses the text of one line (terminator removed) into *key and *value, both
 * NULL for a blank or comment line.  0, or -1 with err.
 */
static int parse_line(const struct line_ctx *c, const char *s, size_t n, char **key,
		      char **value)
{
	const char *end = s + n, *p = skip_ws(s, end), *k0, *v0;
	char kbuf[VMXFILE_MAX_KEY + 1];
	size_t klen;

	*key = *value = NULL;
	if (memchr(s, '\0', n)) {
		fail(c->err, c->errlen, "%s:%u: NUL byte in the line", c->name, c->lineno);
		return -1;
	}
	if (p == end || *p == '#')
		return 0;
	for (k0 = p; p < end && key_char(*p); p++)
		;
	klen = (size_t)(p - k0);
	if (klen == 0) {
		fail(c->err, c->errlen, "%s:%u: expected a key (letters, digits, . _ : -)", c->name,
		     c->lineno);
		return -1;
	}
	if (klen > VMXFILE_MAX_KEY) {
		fail(c->err, c->errlen, "%s:%u: key longer than %u characters", c->name, c->lineno,
		     VMXFILE_MAX_KEY);
		return -1;
	}
	memcpy(kbuf, k0, klen);
	kbuf[klen] = '\0';
	p = skip_ws(p, end);
	if (p == end || *p != '=') {
		fail(c->err, c->errlen, "%s:%u: %s: expected '=' after the key", c->name, c->lineno,
		     kbuf);
		return -1;
	}
	p = skip_ws(p + 1, end);
	if (p < end && *p == '"') {
		v0 = ++p;
		while (p < end && *p != '"')
			p++;
		if (p == end) {
			fail(c->err, c->errlen, "%s:%u: %s: missing closing quote", c->name,
			     c->lineno, kbuf);
			return -1;
		}
		if (check_tail(c, kbuf, p + 1, end) < 0)
			return -1;
	} else {
		/* VMware writes quotes; tolerate a bare word as other readers do */
		v0 = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '#' && *p != '"')
			p++;
		if (p == v0) {
			fail(c->err, c->errlen, "%s:%u: %s: missing value (write %s = \"\")", c->name,
			     c->lineno, kbuf, kbuf);
			return -1;
		}
		if (check_tail(c, kbuf, p, end) < 0)
			return -1;
	}
	*value = decode_value(c, kbuf, v0, (size_t)(p - v0));
	if (!*value)
		return -1;
	*key = strdup(kbuf);
	if (!*key) {
		free(*value);
		*value = NULL;
		fail(c->err, c->errlen, "%s:%u: out of memory", c->name, c->lineno);
		return -1;
	}
	return 0;
}

/* ---- the file ---------------------------------------------------------- */

static void line_free(struct vmx_line *l)
{
	free(l->raw);
	free(l->key);
	free(l->value);
}

void vmxfile_free(struct vmxfile *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nr; i++)
		line_free(&f->lines[i]);
	free(f->lines);
	free(f->index);
	free(f->name);
	free(f);
}

static struct vmx_line *line_append(struct vmxfile *f)
{
	if (f->nr == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct vmx_line *n = realloc(f->lines, cap * sizeof(*n));

		if (!n)
			return NULL;
		f->lines = n;
		f->cap = cap;
	}
	memset(&f->lines[f->nr], 0, sizeof(f->lines[0]));
	return &f->lines[f->nr++];
}

static int check_encoding(const struct line_ctx *c, const char *key, const char *value)
{
	if (strcasecmp(key, ".encoding") != 0)
		return 0;
	if (strcasecmp(value, "UTF-8") == 0 || strcasecmp(value, "UTF8") == 0)
		return 0;
	fail(c->err, c->errlen, "%s:%u: %s: only UTF-8 is supported, not \"%s\"", c->name,
	     c->lineno, key, value);
	return -1;
}

/* Adds the line s[0..n) (n includes its terminator, if any). */
static int add_line(struct vmxfile *f, struct line_ctx *c, const char *s, size_t n)
{
	size_t body = n;
	struct vmx_line *l;
	char *key, *value;

	if (body && s[body - 1] == '\n')
		body--;
	if (body && s[body - 1] == '\r')
		body--;
	if (parse_line(c, s, body, &key, &value) < 0)
		return -1;
	if (key && check_encoding(c, key, value) < 0)
		goto bad;
	if (key && find(f, key)) {
		fail(c->err, c->errlen, "%s:%u: %s: duplicate key (first set on line %u)", c->name,
		     c->lineno, key, find(f, key)->lineno);
		goto bad;
	}
	l = line_append(f);
	if (!l || !(l->raw = strndup(s, n))) {
		if (l)
			f->nr--;
		fail(c->err, c->errlen, "%s:%u: out of memory", c->name, c->lineno);
		goto bad;
	}
	l->key = key;
	l->value = value;
	l->lineno = c->lineno;
	if (key) {
		if (2 * (f->nr_keys + 1) + 2 > f->index_size) {
			if (index_rebuild(f, 2 * f->nr_keys + 16) < 0) {
				fail(c->err, c->errlen, "out of memory");
				return -1;
			}
		} else {
			f->index[index_slot(f, key)] = (unsigned)(f->nr - 1) + 1;
			f->nr_keys++;
		}
	}
	return 0;
bad:
	free(key);
	free(value);
	return -1;
}

struct vmxfile *vmxfile_parse(const char *text, size_t len, const char *name,
			      char *err, size_t errlen)
{
	struct vmxfile *f = calloc(1, sizeof(*f));
	struct line_ctx c = { .name = name ? name : "(vmx)", .err = err, .errlen = errlen };

	if (!f || !(f->name = strdup(c.name)) || index_rebuild(f, 0) < 0) {
		fail(err, errlen, "%s: out of memory", c.name);
		vmxfile_free(f);
		return NULL;
	}
	if (len > VMXFILE_MAX_BYTES) {
		fail(err, errlen, "%s: file larger than %u bytes", c.name, VMXFILE_MAX_BYTES);
		goto bad;
	}
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) + 1 : len - off;

		if (++c.lineno > VMXFILE_MAX_LINES) {
			fail(err, errlen, "%s: more than %u lines", c.name, VMXFILE_MAX_LINES);
			goto bad;
		}
		if (add_line(f, &c, text + off, n) < 0)
			goto bad;
		off += n;
	}
	return f;
bad:
	vmxfile_free(f);
	return NULL;
}

struct vmxfile *vmxfile_load(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO named like a .vmx must not wait for a
	 * writer (it is refused below); a regular file ignores the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	struct vmxfile *f = NULL;

	if (fd < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fail(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* one byte more than allowed, to see a file that is too large */
	buf = malloc(VMXFILE_MAX_BYTES + 1);
	if (!buf) {
		fail(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got <= VMXFILE_MAX_BYTES) {
		ssize_t n = read(fd, buf + got, VMXFILE_MAX_BYTES + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	f = vmxfile_parse(buf, got, path, err, errlen);
out:
	free(buf);
	close(fd);
	return f;
}

int vmxfile_foreach(const struct vmxfile *f,
		    int (*fn)(const char *key, const char *value, unsigned line, void *arg),
		    void *arg)
{
	for (size_t i = 0; i < f->nr; i++) {
		const struct vmx_line *l = &f->lines[i];
		int rc;

		if (!l->key || l->dead)
			continue;
		rc = fn(l->key, l->value, l->lineno, arg);
		if (rc)
			return rc;
	}
	return 0;
}

const char *vmxfile_name(const struct vmxfile *f)
{
	return f->name;
}

const char *vmxfile_get(const struct vmxfile *f, const char *key)
{
	const struct vmx_line *l = find(f, key);

	return l ? l->value : NULL;
}

unsigned vmxfile_line(const struct vmxfile *f, const char *key)
{
	const struct vmx_line *l = find(f, key);

	return l ? l->lineno : 0;
}

/* `key = "escaped value"` followed by eol, malloc'ed. */
static char *format_line(const char *key, const char *value, const char *eol)
{
	size_t vlen = 3 * strlen(value) + 1;
	char *esc = malloc(vlen), *out = NULL;

	if (!esc)
		return NULL;
	if (vmxfile_escape(value, esc, vlen) == 0 &&
	    asprintf(&out, "%s = \"%s\"%s", key, esc, eol) < 0)
		out = NULL;
	free(esc);
	return out;
}

/* The terminator of a raw line: "\r\n", "\n" or "". */
static const char *line_eol(const char *raw)
{
	size_t n = strlen(raw);

	if (n >= 2 && raw[n - 2] == '\r' && raw[n - 1] == '\n')
		return "\r\n";
	if (n >= 1 && raw[n - 1] == '\n')
		return "\n";
	return "";
}

static int set_existing(struct vmx_line *l, const char *value)
{
	char *v = strdup(value), *raw = v ? format_line(l->key, value, line_eol(l->raw)) : NULL;

	if (!raw) {
		free(v);
		return -1;
	}
	free(l->raw);
	free(l->value);
	l->raw = raw;
	l->value = v;
	return 0;
}

/* The last live line must end with a newline before one is appended. */
static int terminate_last(struct vmxfile *f)
{
	for (size_t i = f->nr; i-- > 0;) {
		struct vmx_line *l = &f->lines[i];
		size_t n;
		char *raw;

		if (l->dead)
			continue;
		n = strlen(l->raw);
		if (n && l->raw[n - 1] == '\n')
			return 0;
		raw = realloc(l->raw, n + 2);
		if (!raw)
			return -1;
		raw[n] = '\n';
		raw[n + 1] = '\0';
		l->raw = raw;
		return 0;
	}
	return 0;
}

int vmxfile_set(struct vmxfile *f, const char *key, const char *value)
{
	struct vmx_line *l;
	size_t vlen = strlen(value);

	if (!valid_key(key) || vlen > VMXFILE_MAX_VALUE || !valid_utf8(value, vlen))
		return -1;
	l = find(f, key);
	if (l)
		return set_existing(l, value);
	if (f->nr >= VMXFILE_MAX_LINES || terminate_last(f) < 0)
		return -1;
	l = line_append(f);
	if (!l)
		return -1;
	l->key = strdup(key);
	l->value = strdup(value);
	l->raw = format_line(key, value, "\n");
	if (!l->key || !l->value || !l->raw) {
		line_free(l);
		f->nr--;
		return -1;
	}
	return index_rebuild(f, f->nr_keys + 1);
}

int vmxfile_remove(struct vmxfile *f, const char *key)
{
	struct vmx_line *l = find(f, key);

	if (!l)
		return -1;
	l->dead = true;
	return index_rebuild(f, f->nr_keys);
}

char *vmxfile_text(const struct vmxfile *f, size_t *len)
{
	size_t total = 0, o = 0;
	char *out;

	for (size_t i = 0; i < f->nr; i++)
		if (!f->lines[i].dead)
			total += strlen(f->lines[i].raw);
	out = malloc(total + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < f->nr; i++) {
		size_t n;

		if (f->lines[i].dead)
			continue;
		n = strlen(f->lines[i].raw);
		memcpy(out + o, f->lines[i].raw, n);
		o += n;
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

/* ---- atomic save ------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd); /* the rename is durable once its directory is */
		close(fd);
	}
}

int vmxfile_save(const struct vmxfile *f, const char *path, char *err, size_t errlen)
{
	char dir[VMX_PATH_MAX], tmp[VMX_PATH_MAX + 16];
	const char *slash = strrchr(path, '/');
	mode_t mode = 0644;
	struct stat st;
	size_t len;
	char *text;
	int fd, rc = -1;

	if (strlen(path) >= VMX_PATH_MAX) {
		fail(err, errlen, "%s: path too long", path);
		return -1;
	}
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	text = vmxfile_text(f, &len);
	if (!text) {
		fail(err, errlen, "%s: out of memory", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fail(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	if (fchmod(fd, mode) < 0 || write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		fail(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	fsync_dir(dir);
	rc = 0;
out:
	if (rc < 0)
		unlink(tmp);
	free(text);
	return rc;
}
