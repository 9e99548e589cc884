/*
 * vim-cmd: the reference's VM command line for vmk's hosts.
 *
 *   vim-cmd [--instance NAME] NAMESPACE/COMMAND [ARG]...
 *   vim-cmd [help [NAMESPACE[/COMMAND]]]
 *
 * The commands, their arguments (by position) and their JSON-RPC methods
 * are declared once in src/lib/vimcmd_table.c; this file turns argv into
 * the method's params by those declarations, makes one call to the
 * instance's vmkd (rpc.c) and prints the result or the fault
 * (vimcmd_print.c).  The only thing declared here is what the reference
 * prints around an operation ("Powering on VM:") and the operation's
 * name for a fault dump.
 *
 * Exit status: 0 on success and for help; 1 with one line on stderr for
 * bad arguments, an unknown command or an unreachable vmkd; 1 with the
 * fault dump on stdout when vmkd refuses the operation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"
#include "rpc.h"
#include "vimcmd.h"
#include "vimcmd_table.h"

static const struct cmd_table *table = &vimcmd_table;

/* What the reference prints before a command's result, and the name of
 * the operation in "<op> failed: (fault) {...}". */
static const struct {
	const char *verb;
	const char *banner;
	const char *op;
} ui[] = {
	{ "power.on", "Powering on VM:", "Power on" },
	{ "power.off", "Powering off VM:", "Power off" },
	{ "power.reset", "Reset VM:", "Reset" },
	{ "power.shutdown", NULL, "Shutdown" },
	{ "power.reboot", NULL, "Reboot guest" },
	{ "power.getstate", NULL, "Get power state" },
	{ "get.summary", NULL, "Get summary" },
	{ "get.guest", NULL, "Get guest info" },
	{ "reload", NULL, "Reload" },
	{ "getallvms", NULL, "Get all VMs" },
	{ "unregister", NULL, "Unregister" },
	{ "registervm", NULL, "Register" },
	{ "listsummary", NULL, "List datastores" },
	{ "localcreate", NULL, "Create datastore" },
	{ "remove", NULL, "Remove datastore" },
};

static const char *banner_of(const struct cmd *c, const char **op)
{
	for (size_t i = 0; i < sizeof(ui) / sizeof(ui[0]); i++) {
		if (strcmp(ui[i].verb, c->verb) == 0) {
			*op = ui[i].op;
			return ui[i].banner;
		}
	}
	*op = c->verb;
	return NULL;
}

/* ---- help ---------------------------------------------------------------- */

/* Names in columns, top to bottom then left to right, as vim-cmd lists. */
static void print_columns(FILE *f, const char **names, size_t n)
{
	size_t width = 0, cols = 4, rows;

	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) > width)
			width = strlen(names[i]);
	width += 4;
	rows = (n + cols - 1) / cols;
	for (size_t r = 0; r < rows; r++) {
		for (size_t k = r; k < n; k += rows) {
			if (k + rows < n)
				fprintf(f, "%-*s", (int)width, names[k]);
			else
				fprintf(f, "%s", names[k]);
		}
		fputc('\n', f);
	}
}

/* A table path ("hostsvc datastore") as vim-cmd writes it ("hostsvc/datastore"). */
static void slashed(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s", path);
	for (char *p = buf; *p; p++)
		if (*p == ' ')
			*p = '/';
}

static void list_root(FILE *f)
{
	const char *names[16];
	char bufs[16][64];
	size_t n = 0;

	for (const struct cmd_ns *ns = table->namespaces; ns->path && n < 15; ns++) {
		if (strchr(ns->path, ' '))
			continue;	/* nested: listed under its parent */
		snprintf(bufs[n], sizeof(bufs[n]), "%s/", ns->path);
		names[n] = bufs[n];
		n++;
	}
	names[n++] = "help";
	fprintf(f, "Commands available under /:\n");
	print_columns(f, names, n);
}

/* The commands of a namespace, then its child namespaces ("datastore/"). */
static void list_ns(FILE *f, const char *ns)
{
	const char *names[64];
	char bufs[16][64], shown[64];
	size_t n = 0, nb = 0, len = strlen(ns);

	for (const struct cmd *c = table->cmds; c->ns && n < 64; c++)
		if (strcmp(c->ns, ns) == 0)
			names[n++] = c->verb;
	for (const struct cmd_ns *s = table->namespaces; s->path && n < 64 && nb < 16; s++) {
		if (strncmp(s->path, ns, len) != 0 || s->path[len] != ' ' ||
		    strchr(s->path + len + 1, ' '))
			continue;
		snprintf(bufs[nb], sizeof(bufs[nb]), "%s/", s->path + len + 1);
		names[n++] = bufs[nb++];
	}
	slashed(shown, sizeof(shown), ns);
	fprintf(f, "Commands available under %s/:\n", shown);
	print_columns(f, names, n);
}

/* "power.on vmid", "registervm path [name]" */
static void usage_line(char *buf, size_t len, const struct cmd *c)
{
	size_t o = (size_t)snprintf(buf, len, "%s", c->verb);

	for (const struct cmd_opt *a = c->opts; a->name && o < len; a++)
		o += (size_t)snprintf(buf + o, len - o, (a->flags & CMD_REQUIRED) ? " %s" : " [%s]",
				      a->name);
}

static void cmd_usage(FILE *f, const struct cmd *c)
{
	char line[256];

	usage_line(line, sizeof(line), c);
	fprintf(f, "Usage: %s\n\n%s\n", line, c->help);
	if (c->opts[0].name) {
		fprintf(f, "\nArguments:\n");
		for (const struct cmd_opt *a = c->opts; a->name; a++)
			cmdtable_print_item(f, a->name, a->help);
	}
}

/* ---- arguments ------------------------------------------------------------- */

static int bad_args(const struct cmd *c, const char *fmt, const char *what)
{
	char line[256];

	usage_line(line, sizeof(line), c);
	fprintf(stderr, "vim-cmd %s/%s: ", c->ns, c->verb);
	fprintf(stderr, fmt, what);
	fprintf(stderr, " (usage: %s)\n", line);
	return -1;
}

static int add_arg(const struct cmd *c, const struct cmd_opt *a, const char *s, json_t *params)
{
	json_t *v;

	if (a->type == CMD_LONG) {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(s, &end, 10);
		if (!*s || *end || errno || ((a->flags & CMD_RANGE) && (n < a->min || n > a->max))) {
			char what[300];

			snprintf(what, sizeof(what), "invalid %s '%.200s': expected a number from %lld "
				 "to %lld", a->name, s, a->min, a->max);
			return bad_args(c, "%s", what);
		}
		v = json_integer(n);
	} else {
		v = json_string(s); /* NULL when s is not UTF-8 */
		if (!v) {
			char what[96];

			snprintf(what, sizeof(what), "invalid %s: not valid UTF-8", a->name);
			return bad_args(c, "%s", what);
		}
	}
	json_object_set_new(params, a->name, v);
	return 0;
}

/* argv (after the command word) by position into params; 0 or -1. */
static int parse_args(const struct cmd *c, int argc, char **argv, json_t *params)
{
	const struct cmd_opt *a = c->opts;
	int i = 0;

	for (; a->name && i < argc; a++, i++)
		if (add_arg(c, a, argv[i], params) < 0)
			return -1;
	if (i < argc)
		return bad_args(c, "too many arguments, from '%s'", argv[i]);
	if (a->name && (a->flags & CMD_REQUIRED))
		return bad_args(c, "insufficient arguments: %s is required", a->name);
	return 0;
}

/* ---- running a command ---------------------------------------------------- */

static int run(const char *instance, const struct cmd *c, int argc, char **argv)
{
	char method[CMD_PATH_MAX], msg[2048];
	json_t *params = json_object(), *result = NULL;
	const char *op, *banner = banner_of(c, &op);
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_usage(stdout, c);
			json_decref(params);
			return 0;
		}
	}
	if (parse_args(c, argc, argv, params) < 0) {
		json_decref(params);
		return 1;
	}
	cmdtable_method(c, method, sizeof(method));
	rc = rpc_call(rpc_instance(instance), method, params, &result, msg, sizeof(msg));
	if (rc == 0 || rc == JSONRPC_FAILED) {
		if (banner)
			printf("%s\n", banner);
		if (rc == 0)
			vimcmd_print(stdout, c, result);
		else
			vimcmd_print_fault(stdout, op, msg);
		json_decref(result);
		return rc == 0 ? 0 : 1;
	}
	fprintf(stderr, "vim-cmd %s/%s: %s\n", c->ns, c->verb, msg);
	return 1;
}

static int unknown(const char *word)
{
	fprintf(stderr, "vim-cmd: unknown command '%s' (vim-cmd help lists the commands)\n", word);
	return 1;
}

/*
 * "vmsvc", "vmsvc/", "vmsvc/power.on" or "hostsvc/datastore/remove": *c
 * is the command, or NULL for a namespace alone (ns gets its table path,
 * words separated by spaces).  -1 if neither exists.
 */
static int resolve(const char *word, const struct cmd **c, char *ns, size_t nslen)
{
	size_t n = strlen(word);

	*c = NULL;
	if (n == 0 || n >= nslen)
		return -1;
	memcpy(ns, word, n + 1);
	if (ns[n - 1] == '/')
		ns[--n] = '\0';	/* "vmsvc/": the namespace */
	for (char *p = ns; *p; p++)
		if (*p == '/')
			*p = ' ';
	if (n && cmdtable_find_ns(table, ns))
		return 0;
	char *verb = strrchr(ns, ' ');
	if (!verb)
		return -1;
	*verb++ = '\0';
	/* the verb as typed: "power.on" has no slash to undo */
	*c = cmdtable_find(table, ns, verb);
	return *c ? 0 : -1;
}

static int help(int argc, char **argv)
{
	const struct cmd *c;
	char ns[64];

	if (argc == 0) {
		list_root(stdout);
		return 0;
	}
	if (resolve(argv[0], &c, ns, sizeof(ns)) < 0)
		return unknown(argv[0]);
	if (c)
		cmd_usage(stdout, c);
	else
		list_ns(stdout, ns);
	return 0;
}

static void root_usage(FILE *f)
{
	fprintf(f, "Usage: vim-cmd [--instance NAME] NAMESPACE/COMMAND [ARG]...\n"
		"       vim-cmd help [NAMESPACE[/COMMAND]]\n\n"
		"  --instance NAME   the vmk host to manage (default: $VMK_INSTANCE, else "
		"'default')\n\n");
	list_root(f);
}

int main(int argc, char **argv)
{
	const char *instance = NULL;
	const struct cmd *c;
	char ns[64];
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			root_usage(stdout);
			return 0;
		} else if (strncmp(a, "--instance=", 11) == 0) {
			instance = a + 11;
		} else if (strcmp(a, "--instance") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "vim-cmd: --instance needs a NAME\n");
				return 1;
			}
			instance = argv[++i];
		} else {
			fprintf(stderr, "vim-cmd: unknown option '%s' (vim-cmd --help)\n", a);
			return 1;
		}
	}
	if (i == argc) {
		list_root(stdout);
		return 0;
	}
	if (strcmp(argv[i], "help") == 0)
		return help(argc - i - 1, argv + i + 1);
	if (resolve(argv[i], &c, ns, sizeof(ns)) < 0)
		return unknown(argv[i]);
	if (!c) {
		list_ns(stdout, ns);
		return 0;
	}
	return run(instance, c, argc - i - 1, argv + i + 1);
}
