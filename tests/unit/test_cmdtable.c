/*
 * Unit tests for the command table (src/lib/cmdtable.c) and the esxcli
 * tree it carries (src/lib/esxcli_table.c): lookup by words and by
 * method, argv parsing (every option form, types, required options,
 * errors in esxcli's words), vmkd-side validation, help output in the
 * reference's layout, and the consistency of the table itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdtable.h"

static const struct cmd_table *T = &esxcli_table;

static const struct cmd *cmd(const char *ns, const char *verb)
{
	const struct cmd *c = cmdtable_find(T, ns, verb);
	assert_non_null(c);
	return c;
}

/* Parses argv (NULL-terminated) for c; returns the result code. */
static int parse(const struct cmd *c, json_t **params, char *err, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	*params = json_object();
	err[0] = '\0';
	return cmdtable_parse(c, argc, argv, *params, err, 512);
}

static void test_lookup(void **state)
{
	char m[CMD_PATH_MAX];
	(void)state;

	const struct cmd *c = cmd("network vswitch standard portgroup policy security", "set");
	cmdtable_method(c, m, sizeof(m));
	assert_string_equal(m, "network.vswitch.standard.portgroup.policy.security.set");
	assert_ptr_equal(cmdtable_find_method(T, m), c);
	assert_null(cmdtable_find_method(T, "network.vswitch.standard.nope"));
	assert_null(cmdtable_find(T, "system", "uptime"));
	assert_non_null(cmdtable_find_ns(T, "system stats uptime"));
	assert_null(cmdtable_find_ns(T, "system uptime"));
}

static enum cmd_resolved resolve(const char *words, const struct cmd **c, int *used, char *path)
{
	char buf[256], *argv[16];
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", words);
	for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
		argv[argc++] = t;
	return cmdtable_resolve(T, argc, argv, c, used, path, CMD_PATH_MAX);
}

static void test_resolve(void **state)
{
	const struct cmd *c;
	char path[CMD_PATH_MAX];
	int used;
	(void)state;

	assert_int_equal(resolve("network vswitch standard add -v x", &c, &used, path), RESOLVED_CMD);
	assert_string_equal(c->verb, "add");
	assert_int_equal(used, 4);
	assert_int_equal(resolve("network vswitch", &c, &used, path), RESOLVED_NS);
	assert_string_equal(path, "network vswitch");
	assert_int_equal(resolve("", &c, &used, path), RESOLVED_NS);
	assert_string_equal(path, "");
	assert_int_equal(resolve("network vswitch --help", &c, &used, path), RESOLVED_NS);
	assert_int_equal(used, 2);
	assert_int_equal(resolve("system uptime get", &c, &used, path), RESOLVED_UNKNOWN);
	assert_string_equal(path, "system uptime get");
	assert_int_equal(resolve("network vswitch standard add vSwitch1", &c, &used, path),
			 RESOLVED_CMD);
}

static void test_parse_forms(void **state)
{
	const struct cmd *c = cmd("network vswitch standard", "add");
	json_t *p;
	char err[512];
	(void)state;

	assert_int_equal(parse(c, &p, err, "-v", "vs1", "-P", "64", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(p, "vswitch-name")), "vs1");
	assert_int_equal(json_integer_value(json_object_get(p, "ports")), 64);
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "-P=24", "-v=myVSS", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(p, "vswitch-name")), "myVSS");
	assert_int_equal(json_integer_value(json_object_get(p, "ports")), 24);
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "--vswitch-name=a", "--ports", "8",
			       "--vswitch-name", "b", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(p, "vswitch-name")), "b");
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "-v", "x", "--help", NULL), 1);
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "-?", NULL), 1);
	json_decref(p);
}

static void test_parse_bools_and_flags(void **state)
{
	const struct cmd *c = cmd("network vswitch standard portgroup policy security", "set");
	json_t *p;
	char err[512];
	(void)state;

	assert_int_equal(parse(c, &p, err, "-p", "pg", "-o", "yes", "-m", "0",
			       "--allow-forged-transmits=TRUE", "-u", NULL), 0);
	assert_true(json_is_true(json_object_get(p, "allow-promiscuous")));
	assert_true(json_is_false(json_object_get(p, "allow-mac-change")));
	assert_true(json_is_true(json_object_get(p, "allow-forged-transmits")));
	assert_true(json_is_true(json_object_get(p, "use-vswitch")));
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "-p", "pg", "-o", "maybe", NULL), -1);
	assert_string_equal(err, "While processing '--allow-promiscuous'. Argument type mismatch. "
			    "Expecting boolean value. Got 'maybe'");
	json_decref(p);
}

static void test_parse_errors(void **state)
{
	const struct cmd *c = cmd("network vswitch standard portgroup", "set");
	json_t *p;
	char err[512];
	(void)state;

	assert_int_equal(parse(c, &p, err, "--portgroup-name=bond0", "--vlan-id=LT-3100", NULL), -1);
	assert_string_equal(err, "While processing '--vlan-id'. Argument type mismatch. "
			    "Expecting integer value. Got 'LT-3100'");
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "-p", "x", NULL), -1);
	assert_string_equal(err, "Missing required parameter -v|--vlan-id");
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "-p", "x", "-v", "1", "--bogus", "2", NULL), -1);
	assert_string_equal(err, "Invalid option --bogus");
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "-p", "x", "-v", NULL), -1);
	assert_string_equal(err, "Option -v requires a value");
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "extra", NULL), -1);
	assert_string_equal(err, "Unexpected argument 'extra'");
	json_decref(p);
	assert_int_equal(parse(c, &p, err, "-pfoo", NULL), -1);
	assert_string_equal(err, "Invalid option -pfoo");
	json_decref(p);
}

static void validate_expect(const struct cmd *c, const char *json, const char *want)
{
	char err[512] = "";
	json_t *p = json_loads(json, 0, NULL);

	assert_non_null(p);
	assert_int_equal(cmdtable_validate(c, p, err, sizeof(err)), want ? -1 : 0);
	if (want)
		assert_string_equal(err, want);
	json_decref(p);
}

static void test_validate(void **state)
{
	const struct cmd *c = cmd("network vswitch standard portgroup", "set");
	const struct cmd *vs = cmd("network vswitch standard", "set");
	(void)state;

	validate_expect(c, "{\"portgroup-name\": \"a\", \"vlan-id\": 4095}", NULL);
	validate_expect(c, "{\"portgroup-name\": \"a\", \"vlan-id\": 0}", NULL);
	validate_expect(c, "{\"portgroup-name\": \"a\", \"vlan-id\": 4096}",
			"Invalid --vlan-id '4096': this value must be in the range (0 - 4095)");
	validate_expect(c, "{\"portgroup-name\": \"a\", \"vlan-id\": -1}",
			"Invalid --vlan-id '-1': this value must be in the range (0 - 4095)");
	validate_expect(c, "{\"portgroup-name\": \"a\", \"vlan-id\": \"7\"}",
			"While processing '--vlan-id'. Argument type mismatch. "
			"Expecting integer value.");
	validate_expect(c, "{\"portgroup-name\": \"a\"}", "Missing required parameter -v|--vlan-id");
	validate_expect(c, "{\"portgroup-name\": \"a\", \"vlan-id\": 1, \"x\": 1}",
			"Invalid option --x");
	validate_expect(vs, "{\"vswitch-name\": \"a\", \"mtu\": 1279}",
			"Invalid --mtu '1279': this value must be in the range (1280 - 9000)");
	validate_expect(vs, "{\"vswitch-name\": \"a\", \"mtu\": 9000}", NULL);
	validate_expect(vs, "{\"vswitch-name\": \"a\", \"mtu\": 9001}",
			"Invalid --mtu '9001': this value must be in the range (1280 - 9000)");
}

static char *capture_cmd_usage(const struct cmd *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cmdtable_print_cmd_usage(f, T, c);
	fclose(f);
	return buf;
}

static void test_cmd_usage_layout(void **state)
{
	char *u = capture_cmd_usage(cmd("network vswitch standard portgroup", "set"));
	(void)state;

	assert_non_null(strstr(u, "Usage: esxcli network vswitch standard portgroup set "
				  "[cmd options]\n\nDescription: \n"
				  "  set                   Set the VLAN ID of a port group.\n\n"
				  "Cmd options:\n"
				  "  -p|--portgroup-name=<str>\n"
				  "                        The name of the port group"));
	assert_non_null(strstr(u, "(required)\n  -v|--vlan-id=<long>   The VLAN ID"));
	free(u);
	u = capture_cmd_usage(cmd("network vswitch standard portgroup policy failover", "set"));
	assert_non_null(strstr(u, "\n  -u|--use-vswitch      Inherit"));
	assert_non_null(strstr(u, "\n  -b|--failback=<bool>  "));
	free(u);
}

static void test_ns_usage_layout(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	(void)state;

	cmdtable_print_ns_usage(f, T, "network vswitch standard");
	fclose(f);
	assert_non_null(strstr(buf, "Usage: esxcli network vswitch standard {cmd} [cmd options]\n\n"
				    "Available Namespaces:\n  policy                "));
	assert_non_null(strstr(buf, "\n\nAvailable Commands:\n  list                  "));
	free(buf);
}

/* Every command sits in a declared namespace, names its method once,
 * has unique option names and letters and a complete output. */
static void test_table_consistency(void **state)
{
	char m1[CMD_PATH_MAX], m2[CMD_PATH_MAX];
	(void)state;

	for (const struct cmd *c = T->cmds; c->ns; c++) {
		assert_non_null(cmdtable_find_ns(T, c->ns));
		cmdtable_method(c, m1, sizeof(m1));
		for (const struct cmd *d = c + 1; d->ns; d++) {
			cmdtable_method(d, m2, sizeof(m2));
			assert_string_not_equal(m1, m2);
		}
		for (const struct cmd_opt *o = c->opts; o->name; o++)
			for (const struct cmd_opt *q = o + 1; q->name; q++) {
				assert_string_not_equal(o->name, q->name);
				assert_true(!o->letter || o->letter != q->letter);
			}
		if (c->output != OUT_NONE) {
			assert_non_null(c->type_name);
			assert_non_null(c->fields);
			assert_non_null(c->fields[0].key);
		}
	}
	for (const struct cmd_ns *n = T->namespaces; n->path; n++) {
		bool has_child = false;
		size_t len = strlen(n->path);
		for (const struct cmd *c = T->cmds; c->ns && !has_child; c++)
			has_child = strncmp(c->ns, n->path, len) == 0;
		assert_true(has_child);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_bools_and_flags),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_cmd_usage_layout),
		cmocka_unit_test(test_ns_usage_layout),
		cmocka_unit_test(test_table_consistency),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
