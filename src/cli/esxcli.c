/*
 * esxcli: the reference's command line for vmk's hosts.
 *
 *   esxcli [options] {namespace}+ {cmd} [cmd options]
 *
 * Everything about a command (its place in the tree, options, help,
 * output fields) comes from the command table (cmdtable.h); this file
 * only strings the steps together: global options, resolve the words,
 * parse the command's options, one JSON-RPC call to the instance's vmkd
 * (rpc.c), format the result (format.c).  A namespace alone prints its
 * usage; `--help` after a command prints the command's.
 *
 * Errors go to stderr as one line "Error: ..." (argument errors followed
 * by the command's usage, as the reference prints them), and the exit
 * status is 1.  One command runs here rather than in vmkd:
 * `network diag ping` (diag_ping.c), which takes seconds.  Nothing is retried and nothing is cached: a command
 * costs one connect and one request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmdtable.h"
#include "diag_ping.h"
#include "format.h"
#include "jsonrpc.h"
#include "rpc.h"

struct globals {
	enum formatter fmt;
	const char *instance;
	bool debug;
};

static const struct cmd_table *table = &esxcli_table;

static void root_usage(FILE *f)
{
	fprintf(f, "Usage: esxcli [options] {namespace}+ {cmd} [cmd options]\n\n"
		"Options:\n"
		"  --formatter=FORMATTER\n"
		"                        Format the output with another formatter. Available "
		"formatters: %s\n"
		"  --screen-width=SCREENWIDTH\n"
		"                        Accepted for compatibility; output is not wrapped\n"
		"  --instance=INSTANCE   The vmk host to manage (default: $VMK_INSTANCE, else "
		"'default')\n"
		"  --debug               Print the JSON-RPC request, reply and round-trip time "
		"to stderr\n"
		"  --version             Display version information for the script\n"
		"  -?, --help            Display usage information for the script\n",
		format_names);
	cmdtable_print_ns_usage(f, table, "");
}

/* "--name=value" or "--name value": the value, advancing *i as needed. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static void fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "Error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n");
	root_usage(stderr);
	exit(1);
}

/* Parses the options before the namespace; returns the index after them. */
static int parse_globals(int argc, char **argv, struct globals *g)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-?") == 0) {
			root_usage(stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("Script 'esxcli' version: %s\n", VMK_VERSION);
			exit(0);
		} else if (strcmp(a, "--debug") == 0) {
			g->debug = true;
		} else if ((v = opt_value(argc, argv, &i, "--formatter"))) {
			if (format_parse(v, &g->fmt) < 0)
				fail_usage("Invalid formatter '%s'", v);
		} else if ((v = opt_value(argc, argv, &i, "--instance"))) {
			g->instance = v;
		} else if (!opt_value(argc, argv, &i, "--screen-width")) {
			fail_usage("Invalid option %s", a);
		}
	}
	return i;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int call(const struct globals *g, const struct cmd *c, json_t *params)
{
	char method[CMD_PATH_MAX], msg[1024];
	json_t *result;
	double t0 = now_ms();

	cmdtable_method(c, method, sizeof(method));
	if (g->debug) {
		char *p = json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fprintf(stderr, "request: %s %s\n", method, p);
		free(p);
	}
	const char *instance = rpc_instance(g->instance);
	int rc = strcmp(method, DIAG_PING_METHOD) == 0 ?
		 diag_ping(instance, params, &result, msg, sizeof(msg)) :
		 rpc_call(instance, method, params, &result, msg, sizeof(msg));
	if (g->debug)
		fprintf(stderr, "reply after %.3f ms: %s\n", now_ms() - t0, rc ? msg : "ok");
	if (rc != 0) {
		fprintf(stderr, "Error: %s\n", msg);
		return 1;
	}
	format_print(stdout, c, result, g->fmt);
	json_decref(result);
	return 0;
}

static int run_cmd(const struct globals *g, const struct cmd *c, int argc, char **argv)
{
	json_t *params = json_object();
	char err[512];
	int r = cmdtable_parse(c, argc, argv, params, err, sizeof(err));

	if (r == 1) {
		cmdtable_print_cmd_usage(stdout, table, c);
		json_decref(params);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "Error: %s\n\n", err);
		cmdtable_print_cmd_usage(stderr, table, c);
		json_decref(params);
		return 1;
	}
	return call(g, c, params);
}

int main(int argc, char **argv)
{
	struct globals g = { .fmt = FMT_HUMAN };
	const struct cmd *c;
	char path[CMD_PATH_MAX];
	int used, first = parse_globals(argc, argv, &g);

	switch (cmdtable_resolve(table, argc - first, argv + first, &c, &used, path, sizeof(path))) {
	case RESOLVED_CMD:
		return run_cmd(&g, c, argc - first - used, argv + first + used);
	case RESOLVED_NS:
		if (!path[0])
			root_usage(stdout);
		else
			cmdtable_print_ns_usage(stdout, table, path);
		return 0;
	default:
		fprintf(stderr, "Error: Unknown command or namespace %s\n\n", path);
		return 1;
	}
}
