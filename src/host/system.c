/*
 * `esxcli system`: version get, hostname get|set, stats uptime get.
 *
 * The host name and domain live in the store's meta table (keys
 * host_name and domain_name); vmkd never changes the Linux host name of
 * the machine it runs on.  Uptime is the time since this vmkd started,
 * in microseconds, as the reference counts from the VMkernel's boot.
 */
#include "system.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "store.h"
#include "vmklog.h"

#define HOST_MAX 63
#define DOMAIN_MAX 253

static struct timespec started;

static json_t *version_get(json_t *params)
{
	(void)params;
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "Product", "vmk", "Version", VMK_VERSION,
			 "Build", "Releasebuild-0", "Update", "0", "Patch", "0");
}

static void meta_get(const char *key, char *buf, size_t len)
{
	if (!store_text(buf, len, "SELECT value FROM meta WHERE key = ?", "s", key))
		buf[0] = '\0';
}

static json_t *hostname_get(json_t *params)
{
	char host[HOST_MAX + 1], domain[DOMAIN_MAX + 1], fqdn[HOST_MAX + DOMAIN_MAX + 2];

	(void)params;
	meta_get("host_name", host, sizeof(host));
	meta_get("domain_name", domain, sizeof(domain));
	snprintf(fqdn, sizeof(fqdn), "%s%s%s", host, domain[0] ? "." : "", domain);
	return json_pack("{s:s, s:s, s:s}", "DomainName", domain,
			 "FullyQualifiedDomainName", fqdn, "HostName", host);
}

/* One DNS label: letters, digits, '-', not at either end. */
static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || n > HOST_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", s[i]))
			return false;
	return true;
}

int system_hostname_ok(const char *host)
{
	return label_ok(host, strlen(host));
}

static bool domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n > DOMAIN_MAX)
		return false;
	for (const char *p = d;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!label_ok(p, len))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

static json_t *set_names(const char *host, const char *domain)
{
	if (host && store_exec("INSERT OR REPLACE INTO meta VALUES ('host_name', ?)", "s", host))
		return api_store_error();
	if (domain &&
	    store_exec("INSERT OR REPLACE INTO meta VALUES ('domain_name', ?)", "s", domain))
		return api_store_error();
	if (host)
		vmklog("Hostname", "host name set to '%s'", host);
	if (domain)
		vmklog("Hostname", "domain name set to '%s'", domain);
	return json_true();
}

static json_t *hostname_set(json_t *params)
{
	const char *host = param_str(params, "host"), *domain = param_str(params, "domain");
	const char *fqdn = param_str(params, "fqdn");
	char h[HOST_MAX + 1];

	if (fqdn && (host || domain))
		return api_invalid("Invalid --fqdn '%s': --fqdn cannot be combined with --host "
				   "or --domain", fqdn);
	if (!fqdn && !host && !domain)
		return api_invalid("Missing required parameter: one of -H|--host, -d|--domain, "
				   "-f|--fqdn");
	if (fqdn) {
		size_t n = strcspn(fqdn, ".");
		if (!label_ok(fqdn, n) || (fqdn[n] && !domain_ok(fqdn + n + 1)))
			return api_invalid("Invalid --fqdn '%s': not a valid fully qualified "
					   "domain name", fqdn);
		snprintf(h, sizeof(h), "%.*s", (int)n, fqdn);
		return set_names(h, fqdn[n] ? fqdn + n + 1 : "");
	}
	if (host && !system_hostname_ok(host))
		return api_invalid("Invalid --host '%s': a host name has 1 to 63 letters, digits "
				   "and '-', and does not begin or end with '-'", host);
	if (domain && domain[0] && !domain_ok(domain))
		return api_invalid("Invalid --domain '%s': not a valid domain name", domain);
	return set_names(host, domain);
}

static json_t *uptime_get(json_t *params)
{
	struct timespec now;

	(void)params;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long us = (now.tv_sec - started.tv_sec) * 1000000LL +
		       (now.tv_nsec - started.tv_nsec) / 1000;
	return json_integer(us);
}

static const struct api_method methods[] = {
	{ "system.version.get", version_get },
	{ "system.hostname.get", hostname_get },
	{ "system.hostname.set", hostname_set },
	{ "system.stats.uptime.get", uptime_get },
	{ 0 }
};

void system_register(void)
{
	clock_gettime(CLOCK_MONOTONIC, &started);
	api_register(methods);
}
