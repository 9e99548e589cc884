/*
 * The command table engine: lookup, argv parsing, params validation and
 * help output, all driven by the declarations in cmdtable.h.
 *
 * Parsing follows esxcli: options are `-x VALUE`, `-x=VALUE`,
 * `--long-name VALUE` or `--long-name=VALUE`; a flag takes no value; the
 * last occurrence of an option wins.  Error messages are single lines in
 * esxcli's words ("While processing '--vlan-id'. Argument type mismatch.
 * Expecting integer value. Got 'x'"); the caller adds "Error: ".
 *
 * Help output lays out names in a 24-column field ("  " + 22) with the
 * help text after it; a name too wide for the field puts its help on the
 * next line, indented 24 spaces, as the reference's help does.
 */
#include "cmdtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HELP_COLUMN 24

const struct cmd_ns *cmdtable_find_ns(const struct cmd_table *t, const char *path)
{
	for (const struct cmd_ns *n = t->namespaces; n->path; n++)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

const struct cmd *cmdtable_find(const struct cmd_table *t, const char *ns,
				const char *verb)
{
	for (const struct cmd *c = t->cmds; c->ns; c++)
		if (strcmp(c->ns, ns) == 0 && strcmp(c->verb, verb) == 0)
			return c;
	return NULL;
}

void cmdtable_method(const struct cmd *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s.%s", c->ns, c->verb);
	for (char *p = buf; *p; p++)
		if (*p == ' ')
			*p = '.';
}

const struct cmd *cmdtable_find_method(const struct cmd_table *t, const char *method)
{
	char m[CMD_PATH_MAX];

	for (const struct cmd *c = t->cmds; c->ns; c++) {
		cmdtable_method(c, m, sizeof(m));
		if (strcmp(m, method) == 0)
			return c;
	}
	return NULL;
}

const struct cmd_opt *cmdtable_opt(const struct cmd *c, const char *name)
{
	for (const struct cmd_opt *o = c->opts; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static const struct cmd_opt *opt_by_letter(const struct cmd *c, char letter)
{
	for (const struct cmd_opt *o = c->opts; o && o->name; o++)
		if (o->letter && o->letter == letter)
			return o;
	return NULL;
}

static void join(char *buf, size_t len, const char *a, const char *b)
{
	if (a[0])
		snprintf(buf, len, "%s %s", a, b);
	else
		snprintf(buf, len, "%s", b);
}

enum cmd_resolved cmdtable_resolve(const struct cmd_table *t, int argc, char **argv,
				   const struct cmd **cmd, int *used,
				   char *path, size_t pathlen)
{
	char cand[CMD_PATH_MAX];
	int i = 0;

	path[0] = '\0';
	*cmd = NULL;
	for (; i < argc && argv[i][0] != '-'; i++) {
		join(cand, sizeof(cand), path, argv[i]);
		if (cmdtable_find_ns(t, cand)) {
			snprintf(path, pathlen, "%s", cand);
			continue;
		}
		*cmd = cmdtable_find(t, path, argv[i]);
		if (*cmd) {
			*used = i + 1;
			return RESOLVED_CMD;
		}
		break;
	}
	*used = i;
	if (i == argc || argv[i][0] == '-')
		return RESOLVED_NS;
	for (; i < argc && argv[i][0] != '-'; i++) {
		join(cand, sizeof(cand), path, argv[i]);
		snprintf(path, pathlen, "%s", cand);
	}
	*used = i;
	return RESOLVED_UNKNOWN;
}

int cmdtable_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "true", "yes", "1", "on" };
	static const char *no[] = { "false", "no", "0", "off" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int parse_long(const char *s, long long *out)
{
	char *end;

	if (!*s)
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return (errno || *end) ? -1 : 0;
}

void cmdtable_opt_names(const struct cmd_opt *o, char *buf, size_t len)
{
	if (o->letter)
		snprintf(buf, len, "-%c|--%s", o->letter, o->name);
	else
		snprintf(buf, len, "--%s", o->name);
}

/* Converts one option's text to its JSON value. */
static json_t *opt_value(const struct cmd_opt *o, const char *text, char *err, size_t errlen)
{
	long long n;
	bool b;

	switch (o->type) {
	case CMD_STR:
		return json_string(text);
	case CMD_LONG:
		if (parse_long(text, &n) == 0)
			return json_integer(n);
		snprintf(err, errlen, "While processing '--%s'. Argument type mismatch. "
			 "Expecting integer value. Got '%s'", o->name, text);
		return NULL;
	case CMD_BOOL:
	case CMD_FLAG:
		if (cmdtable_parse_bool(text, &b) == 0)
			return json_boolean(b);
		snprintf(err, errlen, "While processing '--%s'. Argument type mismatch. "
			 "Expecting boolean value. Got '%s'", o->name, text);
		return NULL;
	}
	return NULL;
}

/* Finds the option an argument names; *value is set if it carries one. */
static const struct cmd_opt *lookup_arg(const struct cmd *c, const char *arg,
					const char **value, char *name, size_t namelen)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

	*value = eq ? eq + 1 : NULL;
	snprintf(name, namelen, "%.*s", (int)n, arg);
	if (arg[1] == '-')
		return cmdtable_opt(c, name + 2);
	if (n == 2)
		return opt_by_letter(c, arg[1]);
	return NULL;
}

static int check_required(const struct cmd *c, json_t *params, char *err, size_t errlen)
{
	char names[64];

	for (const struct cmd_opt *o = c->opts; o && o->name; o++) {
		if ((o->flags & CMD_REQUIRED) && !json_object_get(params, o->name)) {
			cmdtable_opt_names(o, names, sizeof(names));
			snprintf(err, errlen, "Missing required parameter %s", names);
			return -1;
		}
	}
	return 0;
}

int cmdtable_parse(const struct cmd *c, int argc, char **argv, json_t *params,
		   char *err, size_t errlen)
{
	char name[CMD_PATH_MAX];

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *value;
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-?") == 0)
			return 1;
		if (arg[0] != '-' || arg[1] == '\0') {
			snprintf(err, errlen, "Unexpected argument '%s'", arg);
			return -1;
		}
		const struct cmd_opt *o = lookup_arg(c, arg, &value, name, sizeof(name));
		if (!o) {
			snprintf(err, errlen, "Invalid option %s", name);
			return -1;
		}
		if (!value && o->type != CMD_FLAG) {
			if (i + 1 == argc) {
				snprintf(err, errlen, "Option %s requires a value", name);
				return -1;
			}
			value = argv[++i];
		}
		json_t *v = value ? opt_value(o, value, err, errlen) : json_true();
		if (!v)
			return -1;
		json_object_set_new(params, o->name, v);
	}
	return check_required(c, params, err, errlen);
}

static bool type_ok(const struct cmd_opt *o, json_t *v)
{
	switch (o->type) {
	case CMD_STR:
		return json_is_string(v);
	case CMD_LONG:
		return json_is_integer(v);
	case CMD_BOOL:
	case CMD_FLAG:
		return json_is_boolean(v);
	}
	return false;
}

static const char *type_word(enum cmd_type t)
{
	switch (t) {
	case CMD_STR:
		return "string";
	case CMD_LONG:
		return "integer";
	default:
		return "boolean";
	}
}

static int check_range(const struct cmd_opt *o, json_t *v, char *err, size_t errlen)
{
	long long n = json_integer_value(v);

	if (!(o->flags & CMD_RANGE) || (n >= o->min && n <= o->max))
		return 0;
	snprintf(err, errlen, "Invalid --%s '%lld': this value must be in the range "
		 "(%lld - %lld)", o->name, n, o->min, o->max);
	return -1;
}

int cmdtable_validate(const struct cmd *c, json_t *params, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(params)) {
		snprintf(err, errlen, "params must be an object");
		return -1;
	}
	json_object_foreach(params, key, v) {
		const struct cmd_opt *o = cmdtable_opt(c, key);
		if (!o) {
			snprintf(err, errlen, "Invalid option --%s", key);
			return -1;
		}
		if (!type_ok(o, v)) {
			snprintf(err, errlen, "While processing '--%s'. Argument type mismatch. "
				 "Expecting %s value.", key, type_word(o->type));
			return -1;
		}
		if (o->type == CMD_LONG && check_range(o, v, err, errlen))
			return -1;
	}
	return check_required(c, params, err, errlen);
}

void cmdtable_print_item(FILE *f, const char *name, const char *help)
{
	int n = fprintf(f, "  %s", name);

	if (n + 1 > HELP_COLUMN)
		fprintf(f, "\n%*s", HELP_COLUMN, "");
	else
		fprintf(f, "%*s", HELP_COLUMN - n, "");
	fprintf(f, "%s\n", help);
}

/* A direct child namespace of parent: its path is parent + one word. */
static const char *child_word(const char *parent, const char *path)
{
	size_t n = strlen(parent);

	if (n) {
		if (strncmp(path, parent, n) != 0 || path[n] != ' ')
			return NULL;
		path += n + 1;
	}
	return strchr(path, ' ') ? NULL : path;
}

void cmdtable_print_ns_usage(FILE *f, const struct cmd_table *t, const char *path)
{
	bool any = false;

	if (path[0])
		fprintf(f, "Usage: %s %s {cmd} [cmd options]\n", t->prog, path);
	for (const struct cmd_ns *n = t->namespaces; n->path; n++) {
		const char *w = child_word(path, n->path);
		if (!w)
			continue;
		if (!any)
			fprintf(f, "\nAvailable Namespaces:\n");
		any = true;
		cmdtable_print_item(f, w, n->help);
	}
	any = false;
	for (const struct cmd *c = t->cmds; c->ns; c++) {
		if (strcmp(c->ns, path) != 0)
			continue;
		if (!any)
			fprintf(f, "\nAvailable Commands:\n");
		any = true;
		cmdtable_print_item(f, c->verb, c->help);
	}
}

static void print_opt(FILE *f, const struct cmd_opt *o)
{
	static const char *types[] = { "=<str>", "=<long>", "=<bool>", "" };
	char names[96], help[512];

	cmdtable_opt_names(o, names, sizeof(names));
	strncat(names, types[o->type], sizeof(names) - strlen(names) - 1);
	snprintf(help, sizeof(help), "%s%s", o->help,
		 (o->flags & CMD_REQUIRED) ? " (required)" : "");
	cmdtable_print_item(f, names, help);
}

void cmdtable_print_cmd_usage(FILE *f, const struct cmd_table *t, const struct cmd *c)
{
	fprintf(f, "Usage: %s %s %s [cmd options]\n\n", t->prog, c->ns, c->verb);
	fprintf(f, "Description: \n");
	cmdtable_print_item(f, c->verb, c->help);
	fprintf(f, "\nCmd options:\n");
	for (const struct cmd_opt *o = c->opts; o && o->name; o++)
		print_opt(f, o);
}
