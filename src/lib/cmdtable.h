/*
 * The command table: esxcli's namespaces and commands, declared once and
 * used by both ends.
 *
 * A command is a namespace path ("network vswitch standard"), a verb
 * ("add"), a help line, its options (long name, short letter, type,
 * required, range, help) and the shape of its output (nothing, a scalar,
 * one struct, a list of structs, a table) with the ordered fields of that
 * output (internal name, display label, type).  The JSON-RPC method is
 * the path and the verb joined by dots ("network.vswitch.standard.add");
 * its params are the long option names without dashes.
 *
 * esxcli resolves argv against the table, parses options into a JSON
 * object, prints `--help` and namespace usage from it and formats the
 * result by the declared fields.  vmkd validates every request's params
 * with cmdtable_validate() before a handler runs, so a handler sees only
 * known keys of the declared types, required ones present and ranges
 * respected.  Nothing about a command is written twice.
 */
#ifndef VMK_CMDTABLE_H
#define VMK_CMDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum cmd_type {
	CMD_STR,  /* <str>: a JSON string */
	CMD_LONG, /* <long>: a JSON integer */
	CMD_BOOL, /* <bool>: takes a value (true/false, 1/0, yes/no) */
	CMD_FLAG, /* a boolean that takes no value: present means true */
};

#define CMD_REQUIRED 0x1u
#define CMD_RANGE 0x2u /* the value must lie in [min, max] */

struct cmd_opt {
	const char *name; /* long name without dashes: "vswitch-name" */
	char letter;      /* short letter, or 0 for none */
	enum cmd_type type;
	unsigned flags;
	long long min, max;
	const char *help;
};

/* FIELD_STRUCT and FIELD_STRUCT_LIST nest structs in a struct, as the
 * reference's `network diag ping` does (its Trace and Summary). */
enum field_type { FIELD_STR, FIELD_INT, FIELD_BOOL, FIELD_LIST, FIELD_STRUCT, FIELD_STRUCT_LIST };

struct cmd_field {
	const char *key;   /* internal name: JSON key, keyvalue/xml/csv name */
	const char *label; /* what the human formatter shows */
	enum field_type type;
	const char *unit;  /* suffix after the value in human output, or NULL */
	const struct cmd_field *sub; /* nested fields (FIELD_STRUCT*), ends with key NULL */
	const char *sub_type;        /* their struct type name (keyvalue/xml) */
};

enum cmd_output {
	OUT_NONE,        /* result is `true`; esxcli prints nothing */
	OUT_SCALAR,      /* a bare value */
	OUT_STRUCT,      /* one object: "   Label: value" lines */
	OUT_STRUCT_LIST, /* objects, each under a heading (its first field; one
			  * with label NULL is the heading only) */
	OUT_TABLE,       /* objects as rows of a table */
};

struct cmd {
	const char *ns;   /* namespace path, words separated by one space */
	const char *verb;
	const char *help;
	const struct cmd_opt *opts; /* ends with an entry whose name is NULL */
	enum cmd_output output;
	const char *type_name;      /* struct name for keyvalue/xml output */
	const struct cmd_field *fields; /* ends with key NULL; OUT_SCALAR: one */
};

struct cmd_ns {
	const char *path;
	const char *help;
};

struct cmd_table {
	const char *prog;
	const struct cmd_ns *namespaces; /* ends with path NULL */
	const struct cmd *cmds;          /* ends with ns NULL */
};

/* The esxcli command tree (esxcli_table.c). */
extern const struct cmd_table esxcli_table;

/* Length of the longest path or method a table may declare. */
#define CMD_PATH_MAX 160

const struct cmd_ns *cmdtable_find_ns(const struct cmd_table *t, const char *path);
const struct cmd *cmdtable_find(const struct cmd_table *t, const char *ns,
				const char *verb);
/* By JSON-RPC method name ("system.hostname.get"). */
const struct cmd *cmdtable_find_method(const struct cmd_table *t, const char *method);
/* Writes c's method name into buf. */
void cmdtable_method(const struct cmd *c, char *buf, size_t len);
const struct cmd_opt *cmdtable_opt(const struct cmd *c, const char *name);

enum cmd_resolved { RESOLVED_NS, RESOLVED_CMD, RESOLVED_UNKNOWN };

/*
 * Resolves the leading words of argv (those not starting with '-') as a
 * namespace path and, if the next word is one of its verbs, a command.
 * *used is how many of argv were consumed; path receives the namespace
 * (RESOLVED_NS, RESOLVED_CMD) or every leading word (RESOLVED_UNKNOWN).
 */
enum cmd_resolved cmdtable_resolve(const struct cmd_table *t, int argc, char **argv,
				   const struct cmd **cmd, int *used,
				   char *path, size_t pathlen);

/*
 * Parses command options (argv after the command words) into params.
 * Returns 0, 1 if --help (or -?) was given, or -1 with a one-line message
 * in err (no "Error: " prefix).  Checks types and required options;
 * ranges are left to cmdtable_validate().
 */
int cmdtable_parse(const struct cmd *c, int argc, char **argv, json_t *params,
		   char *err, size_t errlen);

/* Checks params as vmkd receives them: known keys, types, required
 * options, ranges.  0, or -1 with a one-line message in err. */
int cmdtable_validate(const struct cmd *c, json_t *params, char *err, size_t errlen);

/* Parses a boolean as esxcli accepts it: true/false, yes/no, 1/0. */
int cmdtable_parse_bool(const char *s, bool *out);

/* "-v|--vswitch-name" */
void cmdtable_opt_names(const struct cmd_opt *o, char *buf, size_t len);

/* Usage of a namespace ("" is the root): its namespaces and commands. */
void cmdtable_print_ns_usage(FILE *f, const struct cmd_table *t, const char *path);
/* Usage of one command: usage line, description, options. */
void cmdtable_print_cmd_usage(FILE *f, const struct cmd_table *t, const struct cmd *c);
/* Prints "  NAME" padded to the help column, then help (wrapping first
 * when NAME is too wide), as esxcli's help does. */
void cmdtable_print_item(FILE *f, const char *name, const char *help);

#endif
