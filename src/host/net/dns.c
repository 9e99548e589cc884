/*
 * DNS per TCP/IP stack: `esxcli network ip dns server list|add|remove`
 * and `esxcli network ip dns search list|add|remove` (dns.h).
 *
 * As on ESXi each stack has its own servers and search domains; every
 * command takes -N|--netstack (default defaultTcpipStack).  A stack has
 * at most 3 servers, glibc's MAXNS: a resolv.conf with more would
 * silently ignore the rest, so more are refused instead.  Servers are
 * kept in the canonical text of their address (so "10.0.0.01"-style
 * spellings cannot make duplicates), in the order they were added: the
 * order the resolver tries them.
 *
 * The handler changes the store, then rewrites the stack's resolv.conf
 * from it (still inside the request's transaction); if the file cannot
 * be written the request fails and rolls back, so the store and the file
 * agree (a failed COMMIT after the rename leaves the new file until the
 * next change or start rewrites it from the store).  A file is written
 * for every stack, with no nameserver line when the stack has no server:
 * a program run with `ip netns exec` in it then asks the stack's own
 * loopback.  (vmkping and diag ping, which keep the machine's mount
 * namespace, fall back to getaddrinfo() inside the stack's network
 * namespace instead: stack_resolv.c.)
 *
 * Files are replaced with a temp file + rename, so a reader that opens
 * the file sees the old or the new one, never half of one (a process
 * already running under `ip netns exec` keeps the file its bind mount
 * had).  The temp file sits beside the directory, not in it: `ip netns
 * exec` bind-mounts every entry of /etc/netns/NAME over /etc.  The default stack's file is under the instance's
 * run directory, never /etc/resolv.conf: vmkd's namespace is the host's,
 * and the machine's own resolver settings are not vmkd's to change.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "ip.h"
#include "stack_resolv.h"
#include "store.h"
#include "vmklog.h"

#define DOMAIN_MAX 253
#define SEARCH_BYTES 256     /* glibc's res_state defdname */
#define TMP_SUFFIX ".resolv.conf.tmp"

static char instance[64] = "default";

static const char *stack_param(json_t *params)
{
	const char *s = param_str(params, "netstack");
	return s ? s : DEFAULT_STACK;
}

/* ---- resolv.conf ---- */

/* mkdir -p of the directory holding path. */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* 0, or -EIO when the store could not be read to the end: a short file
 * must not replace a good one. */
static int write_list(FILE *f, const char *sql, long long stack, const char *fmt_first,
		      const char *fmt_next, const char *end)
{
	sqlite3_stmt *st = store_stmt(sql, "l", stack);
	int n = 0, rc = SQLITE_ERROR;

	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(f, n++ ? fmt_next : fmt_first, store_col_text(st, 0));
	if (n)
		fputs(end, f);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int write_file(const char *path, const char *tmp, const char *stack, long long id)
{
	FILE *f = fopen(tmp, "we");

	if (!f)
		return -errno;
	fprintf(f, "# Written by vmkd (instance %s) for netstack %s: esxcli network ip dns\n",
		instance, stack);
	int r = write_list(f, "SELECT address FROM dns_server WHERE netstack = ? ORDER BY id",
			   id, "nameserver %s\n", "nameserver %s\n", "");
	if (!r)
		r = write_list(f, "SELECT domain FROM dns_search WHERE netstack = ? ORDER BY id",
			       id, "search %s", " %s", "\n");
	if (!r && (fflush(f) || ferror(f) || fsync(fileno(f))))
		r = errno ? -errno : -EIO;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	return r;
}

int dns_write(const char *stack, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	long long id = netstack_id(stack);
	int r;

	if (stack_resolv_path(instance, stack, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "the resolv.conf path of netstack %s is too long", stack);
		return -ENAMETOOLONG;
	}
	/* beside the directory: /etc/netns/NAME/ holds what goes over /etc */
	char *slash = strrchr(path, '/');
	snprintf(tmp, sizeof(tmp), "%.*s" TMP_SUFFIX, slash ? (int)(slash - path) : 0, path);
	r = make_parent(path);
	if (!r)
		r = write_file(path, tmp, stack, id);
	if (r < 0) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-r));
	}
	return r;
}

void dns_stack_removed(const char *stack)
{
	char path[PATH_MAX];

	if (stack_resolv_path(instance, stack, path, sizeof(path)) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		vmklog_warn("DNS", "cannot remove %s: %s", path, strerror(errno));
	/* /etc/netns/NAME is ours alone: it goes too (the default's is not) */
	char *slash = strrchr(path, '/');
	if (slash && strcmp(stack, DEFAULT_STACK) != 0) {
		*slash = 0;
		rmdir(path);
	}
}

/* Removes the files of this instance's stacks that the store lost
 * (a stack removed while vmkd was down, an older store). */
static void prune(void)
{
	char dir[PATH_MAX], prefix[80];
	const char *root = getenv("VMK_ROOT");
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/etc/netns", root ? root : "");
	snprintf(prefix, sizeof(prefix), "vmk-%s-", instance);
	d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		const char *stack = e->d_name + strlen(prefix), *tmp = strstr(stack, TMP_SUFFIX);
		if (tmp && !tmp[strlen(TMP_SUFFIX)])	/* a write a kill -9 cut short */
			unlinkat(dirfd(d), e->d_name, 0);
		else if (!netstack_id(stack))
			dns_stack_removed(stack);
	}
	if (d)
		closedir(d);
}

void dns_realize(const char *name)
{
	sqlite3_stmt *st = store_stmt("SELECT name FROM netstack ORDER BY id", "");
	char err[512];

	snprintf(instance, sizeof(instance), "%s", name);
	while (st && sqlite3_step(st) == SQLITE_ROW)
		if (dns_write(store_col_text(st, 0), err, sizeof(err)) < 0)
			vmklog_warn("DNS", "%s", err);
	sqlite3_finalize(st);
	prune();
}

/* Rewrites the file after a change: NULL (refused) or json_true(). */
static json_t *commit_change(const char *stack, const char *what)
{
	char err[512];

	if (dns_write(stack, err, sizeof(err)) < 0)
		return api_refused("Cannot change the DNS configuration of netstack %s: %s", stack,
				   err);
	vmklog("DNS", "netstack %s: %s", stack, what);
	return json_true();
}

static json_t *list_of(const char *sql, long long id, const char *key)
{
	sqlite3_stmt *st = store_stmt(sql, "l", id);

	if (!st)
		return api_store_error();
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, json_string(store_col_text(st, 0)));
	sqlite3_finalize(st);
	return json_pack("{s:o}", key, list);
}

/* ---- servers ---- */

/* The canonical text of a unicast IPv4 or IPv6 address, or false. */
static bool server_canon(const char *text, char *out, size_t len)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, text, &a4) == 1)
		return a4.s_addr != 0 && !IN_MULTICAST(ntohl(a4.s_addr)) &&
		       a4.s_addr != INADDR_BROADCAST && inet_ntop(AF_INET, &a4, out, len);
	if (inet_pton(AF_INET6, text, &a6) == 1)
		/* link-local: a resolv.conf server has no scope to say which link */
		return !IN6_IS_ADDR_UNSPECIFIED(&a6) && !IN6_IS_ADDR_MULTICAST(&a6) &&
		       !IN6_IS_ADDR_LINKLOCAL(&a6) && inet_ntop(AF_INET6, &a6, out, len);
	return false;
}

static json_t *server_list(json_t *params)
{
	const char *stack = stack_param(params);
	long long id = netstack_id(stack);

	if (!id)
		return err_no_netstack(stack);
	return list_of("SELECT address FROM dns_server WHERE netstack = ? ORDER BY id", id,
		       "DNSServers");
}

static json_t *server_add(json_t *params)
{
	const char *stack = stack_param(params), *server = param_str(params, "server");
	long long id = netstack_id(stack);
	char addr[INET6_ADDRSTRLEN], what[128];

	if (!id)
		return err_no_netstack(stack);
	if (!server || !server_canon(server, addr, sizeof(addr)))
		return api_invalid("Invalid --server '%s': not a unicast IPv4 or IPv6 address",
				   server ? server : "");
	if (store_int(0, "SELECT count(*) FROM dns_server WHERE netstack = ? AND address = ?",
		      "ls", id, addr))
		return api_invalid("Invalid --server '%s': already a DNS server of netstack %s",
				   server, stack);
	if (store_int(0, "SELECT count(*) FROM dns_server WHERE netstack = ?", "l", id) >=
	    STACK_DNS_SERVERS_MAX)
		return api_refused("Cannot add DNS server %s to netstack %s: it has %d servers "
				   "already, the most the resolver uses (glibc's MAXNS)", server,
				   stack, STACK_DNS_SERVERS_MAX);
	if (store_exec("INSERT INTO dns_server(netstack, address) VALUES (?, ?)", "ls", id, addr))
		return api_store_error();
	snprintf(what, sizeof(what), "DNS server %s added", addr);
	return commit_change(stack, what);
}

static json_t *server_remove(json_t *params)
{
	const char *stack = stack_param(params), *server = param_str(params, "server");
	bool all = param_bool(params, "all", false);
	long long id = netstack_id(stack);
	char addr[INET6_ADDRSTRLEN], what[128];

	if (!id)
		return err_no_netstack(stack);
	if (all == (server != NULL))
		return api_invalid("Give either -s|--server or -a|--all");
	if (all) {
		if (store_exec("DELETE FROM dns_server WHERE netstack = ?", "l", id))
			return api_store_error();
		return commit_change(stack, "all DNS servers removed");
	}
	if (!server_canon(server, addr, sizeof(addr)))
		return api_invalid("Invalid --server '%s': not a unicast IPv4 or IPv6 address",
				   server);
	if (!store_int(0, "SELECT count(*) FROM dns_server WHERE netstack = ? AND address = ?",
		       "ls", id, addr))
		return api_invalid("Invalid --server '%s': not a DNS server of netstack %s",
				   server, stack);
	if (store_exec("DELETE FROM dns_server WHERE netstack = ? AND address = ?", "ls", id,
		       addr))
		return api_store_error();
	snprintf(what, sizeof(what), "DNS server %s removed", addr);
	return commit_change(stack, what);
}

/* ---- search domains ---- */

/* A host name as RFC 1123 has it: dot-separated labels of 1-63 letters,
 * digits and '-', not starting or ending with '-'; 253 characters at most. */
static bool domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = d[i];
		if (c == '.' || c == 0) {
			if (label == 0 || label > 63 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label > 0)))
			return false;
		label++;
	}
	return true;
}

static json_t *search_list(json_t *params)
{
	const char *stack = stack_param(params);
	long long id = netstack_id(stack);

	if (!id)
		return err_no_netstack(stack);
	return list_of("SELECT domain FROM dns_search WHERE netstack = ? ORDER BY id", id,
		       "DNSSearchDomains");
}

static json_t *search_add(json_t *params)
{
	const char *stack = stack_param(params), *domain = param_str(params, "domain");
	long long id = netstack_id(stack);
	char what[320];

	if (!id)
		return err_no_netstack(stack);
	if (!domain || !domain_ok(domain))
		return api_invalid("Invalid --domain '%s': a domain name has dot-separated labels "
				   "of 1 to 63 letters, digits or '-' (at most %d characters)",
				   domain ? domain : "", DOMAIN_MAX);
	if (store_int(0, "SELECT count(*) FROM dns_search WHERE netstack = ? AND domain = ? "
		      "COLLATE NOCASE", "ls", id, domain))
		return api_invalid("Invalid --domain '%s': already a search domain of netstack %s",
				   domain, stack);
	if (store_int(0, "SELECT count(*) FROM dns_search WHERE netstack = ?", "l", id) >=
	    STACK_DNS_SEARCH_MAX)
		return api_refused("Cannot add search domain %s to netstack %s: it has %d "
				   "already, the most the resolver uses (glibc's MAXDNSRCH)",
				   domain, stack, STACK_DNS_SEARCH_MAX);
	/* vmkping's resolver copies the list into glibc's 256-byte defdname:
	 * all domains, each with its NUL, must fit for both resolvers to agree */
	long long used = store_int(0, "SELECT coalesce(sum(length(domain) + 1), 0) FROM "
				   "dns_search WHERE netstack = ?", "l", id);
	if (used + (long long)strlen(domain) + 1 > SEARCH_BYTES)
		return api_refused("Cannot add search domain %s to netstack %s: its search list "
				   "would be longer than the resolver keeps (%d characters)", domain,
				   stack, SEARCH_BYTES - 1);
	if (store_exec("INSERT INTO dns_search(netstack, domain) VALUES (?, ?)", "ls", id, domain))
		return api_store_error();
	snprintf(what, sizeof(what), "DNS search domain %s added", domain);
	return commit_change(stack, what);
}

static json_t *search_remove(json_t *params)
{
	const char *stack = stack_param(params), *domain = param_str(params, "domain");
	long long id = netstack_id(stack);
	char what[320];

	if (!id)
		return err_no_netstack(stack);
	if (!domain || !store_int(0, "SELECT count(*) FROM dns_search WHERE netstack = ? AND "
				  "domain = ? COLLATE NOCASE", "ls", id, domain))
		return api_invalid("Invalid --domain '%s': not a search domain of netstack %s",
				   domain ? domain : "", stack);
	if (store_exec("DELETE FROM dns_search WHERE netstack = ? AND domain = ? COLLATE NOCASE",
		       "ls", id, domain))
		return api_store_error();
	snprintf(what, sizeof(what), "DNS search domain %s removed", domain);
	return commit_change(stack, what);
}

static const struct api_method methods[] = {
	{ "network.ip.dns.server.list", server_list },
	{ "network.ip.dns.server.add", server_add },
	{ "network.ip.dns.server.remove", server_remove },
	{ "network.ip.dns.search.list", search_list },
	{ "network.ip.dns.search.add", search_add },
	{ "network.ip.dns.search.remove", search_remove },
	{ 0 }
};

void dns_register(void)
{
	api_register(methods);
}
