/*
 * Formatters.  Each walks the command's declared fields over the result
 * (one object, or an array of objects, or a scalar), so the output is the
 * same whatever order vmkd's JSON came in.
 *
 * Human shapes, as the reference prints them:
 *   struct     "   Label: value" (an empty value keeps the space after
 *              the colon; lists joined with ", "; units after values),
 *              after the heading-only field's value if it has one
 *   list       the first field's value at column 0, the struct's lines,
 *              a blank line after each
 *   table      header, a dashes row, columns two spaces apart, numbers
 *              right-aligned, text left-aligned
 *   scalar     the value alone
 * Machine shapes: json (internal names as keys), xml (the reference's
 * esxcli namespace and structure/field/list elements), csv (internal
 * names as header; a list is each element followed by a comma),
 * keyvalue ("Type.Field.type=value", lists as "string[]").
 *
 * Nested structs (`network diag ping`: a list of Trace structs and a
 * Summary struct) print as the reference does: "   Trace: " and the
 * nested lines 6 columns deeper, each struct of a nested list followed
 * by a line of blanks up to the nested indent less 3.  In xml they are
 * <structure> elements inside the field (in a <list type="structure">
 * for lists); in keyvalue their lines carry "Type.Field." before the
 * nested struct's own lines; in csv the cell holds the value as JSON.
 */
#include "format.h"

#include <stdlib.h>
#include <string.h>

#define XML_NS "http://www.vmware.com/Products/ESX/5.0/esxcli/"

const char *format_names = "json, xml, csv, keyvalue";

int format_parse(const char *name, enum formatter *out)
{
	static const char *names[] = { "json", "xml", "csv", "keyvalue" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum formatter)(FMT_JSON + i);
			return 0;
		}
	}
	return -1;
}

/* ---- values as text ---- */

static char *scalar_text(json_t *v)
{
	char *s = NULL;

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v) && asprintf(&s, "%lld", (long long)json_integer_value(v)) >= 0)
		return s;
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	return strdup("");
}

/* Elements joined by sep; with trailing, sep also follows the last. */
static char *list_text(json_t *v, const char *sep, bool trailing)
{
	size_t i, len = 1;
	json_t *e;

	json_array_foreach(v, i, e)
		len += strlen(json_string_value(e) ? json_string_value(e) : "") + strlen(sep);
	char *s = calloc(1, len);
	json_array_foreach(v, i, e) {
		if (i)
			strcat(s, sep);
		strcat(s, json_string_value(e) ? json_string_value(e) : "");
	}
	if (trailing && json_array_size(v))
		strcat(s, sep);
	return s;
}

static char *field_text(const struct cmd_field *fd, json_t *obj)
{
	json_t *v = json_object_get(obj, fd->key);

	return fd->type == FIELD_LIST ? list_text(v, ", ", false) : scalar_text(v);
}

static const char *type_word(enum field_type t)
{
	static const char *words[] = { "string", "integer", "boolean", "string[]", "structure",
				       "structure[]" };
	return words[t];
}

static bool nested(const struct cmd_field *fd)
{
	return fd->type == FIELD_STRUCT || fd->type == FIELD_STRUCT_LIST;
}

/* ---- human ---- */

static void human_fields(FILE *f, const struct cmd_field *fields, json_t *obj, int indent);

static void human_nested(FILE *f, const struct cmd_field *fd, json_t *v, int indent)
{
	size_t i;
	json_t *e;

	fprintf(f, "%*s%s: \n", indent, "", fd->label);
	if (fd->type == FIELD_STRUCT) {
		human_fields(f, fd->sub, v, indent + 6);
		return;
	}
	json_array_foreach(v, i, e) {
		human_fields(f, fd->sub, e, indent + 6);
		fprintf(f, "%*s\n", indent + 3, "");
	}
}

static void human_fields(FILE *f, const struct cmd_field *fields, json_t *obj, int indent)
{
	for (const struct cmd_field *fd = fields; fd->key; fd++) {
		if (nested(fd)) {
			human_nested(f, fd, json_object_get(obj, fd->key), indent);
			continue;
		}
		char *t = field_text(fd, obj);
		fprintf(f, "%*s%s: %s%s%s\n", indent, "", fd->label, t, fd->unit ? " " : "",
			fd->unit ? fd->unit : "");
		free(t);
	}
}

/*
 * The fields a formatter shows.  A list of structs may open its fields
 * with a heading-only field (label NULL): human output prints it as each
 * struct's heading and no formatter shows it as a field, as the
 * reference's `vm process list` is headed by the display name.
 */
static const struct cmd_field *body(const struct cmd *c)
{
	return c->fields + (c->fields[0].key && !c->fields[0].label);
}

static void human_struct(FILE *f, const struct cmd *c, json_t *obj)
{
	human_fields(f, body(c), obj, 3);
}

/* One struct; a heading-only field heads it, as the reference's
 * `nic stats get` is headed "NIC statistics for vmnicN". */
static void human_single(FILE *f, const struct cmd *c, json_t *obj)
{
	if (body(c) != c->fields) {
		char *title = field_text(&c->fields[0], obj);
		fprintf(f, "%s\n", title);
		free(title);
	}
	human_struct(f, c, obj);
}

static void human_list(FILE *f, const struct cmd *c, json_t *arr)
{
	size_t i;
	json_t *obj;

	json_array_foreach(arr, i, obj) {
		char *title = field_text(&c->fields[0], obj);
		fprintf(f, "%s\n", title);
		free(title);
		human_struct(f, c, obj);
		fprintf(f, "\n");
	}
}

static void table_widths(const struct cmd *c, json_t *arr, size_t *w)
{
	size_t i;
	json_t *obj;

	for (int k = 0; c->fields[k].key; k++)
		w[k] = strlen(c->fields[k].label);
	json_array_foreach(arr, i, obj) {
		for (int k = 0; c->fields[k].key; k++) {
			char *t = field_text(&c->fields[k], obj);
			if (strlen(t) > w[k])
				w[k] = strlen(t);
			free(t);
		}
	}
}

static void table_cell(FILE *f, const struct cmd_field *fd, const char *text, size_t w, bool last)
{
	if (fd->type == FIELD_INT || fd->type == FIELD_BOOL)
		fprintf(f, "%*s", (int)w, text);
	else if (last)
		fprintf(f, "%s", text);
	else
		fprintf(f, "%-*s", (int)w, text);
	fprintf(f, last ? "\n" : "  ");
}

static void human_table(FILE *f, const struct cmd *c, json_t *arr)
{
	size_t w[32], i;
	json_t *obj;
	int n = 0;

	while (c->fields[n].key)
		n++;
	table_widths(c, arr, w);
	for (int k = 0; k < n; k++)
		table_cell(f, &c->fields[k], c->fields[k].label, w[k], k == n - 1);
	for (int k = 0; k < n; k++) {
		char dashes[256];
		size_t d = w[k] < sizeof(dashes) - 1 ? w[k] : sizeof(dashes) - 1;
		memset(dashes, '-', d);
		dashes[d] = '\0';
		table_cell(f, &(struct cmd_field){ .type = FIELD_STR }, dashes, w[k], k == n - 1);
	}
	json_array_foreach(arr, i, obj) {
		for (int k = 0; k < n; k++) {
			char *t = field_text(&c->fields[k], obj);
			table_cell(f, &c->fields[k], t, w[k], k == n - 1);
			free(t);
		}
	}
}

/* ---- json ---- */

static json_t *ordered_fields(const struct cmd_field *fields, json_t *obj);

/* The value of field fd, nested structs in declared order (new reference). */
static json_t *ordered_value(const struct cmd_field *fd, json_t *v)
{
	size_t i;
	json_t *e, *n;

	if (!v)
		return json_null();
	if (fd->type == FIELD_STRUCT)
		return ordered_fields(fd->sub, v);
	if (fd->type != FIELD_STRUCT_LIST)
		return json_incref(v);
	n = json_array();
	json_array_foreach(v, i, e)
		json_array_append_new(n, ordered_fields(fd->sub, e));
	return n;
}

static json_t *ordered_fields(const struct cmd_field *fields, json_t *obj)
{
	json_t *o = json_object();

	for (const struct cmd_field *fd = fields; fd->key; fd++)
		json_object_set_new(o, fd->key, ordered_value(fd, json_object_get(obj, fd->key)));
	return o;
}

static json_t *ordered(const struct cmd *c, json_t *obj)
{
	return ordered_fields(body(c), obj);
}

static void print_json(FILE *f, const struct cmd *c, json_t *result)
{
	json_t *out;
	size_t i;
	json_t *obj;

	if (json_is_array(result)) {
		out = json_array();
		json_array_foreach(result, i, obj)
			json_array_append_new(out, ordered(c, obj));
	} else if (json_is_object(result)) {
		out = ordered(c, result);
	} else {
		out = json_incref(result);
	}
	json_dumpf(out, f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	fprintf(f, "\n");
	json_decref(out);
}

/* ---- xml ---- */

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void xml_scalar(FILE *f, int indent, const char *type, json_t *v)
{
	char *t = scalar_text(v);

	fprintf(f, "%*s<%s>", indent, "", type);
	xml_escaped(f, t);
	fprintf(f, "</%s>\n", type);
	free(t);
}

static void xml_fields(FILE *f, const char *type_name, const struct cmd_field *fields,
		       json_t *obj, int indent);

/* A list field: strings, or structs of a nested type. */
static void xml_list(FILE *f, const struct cmd_field *fd, json_t *v, int indent)
{
	bool structs = fd->type == FIELD_STRUCT_LIST;
	size_t i;
	json_t *e;

	fprintf(f, "%*s<list type=\"%s\">\n", indent, "", structs ? "structure" : "string");
	json_array_foreach(v, i, e) {
		if (structs)
			xml_fields(f, fd->sub_type, fd->sub, e, indent + 3);
		else
			xml_scalar(f, indent + 3, "string", e);
	}
	fprintf(f, "%*s</list>\n", indent, "");
}

static void xml_fields(FILE *f, const char *type_name, const struct cmd_field *fields,
		       json_t *obj, int indent)
{
	fprintf(f, "%*s<structure typeName=\"%s\">\n", indent, "", type_name);
	for (const struct cmd_field *fd = fields; fd->key; fd++) {
		json_t *v = json_object_get(obj, fd->key);
		fprintf(f, "%*s<field name=\"%s\">\n", indent + 3, "", fd->key);
		if (fd->type == FIELD_LIST || fd->type == FIELD_STRUCT_LIST)
			xml_list(f, fd, v, indent + 6);
		else if (fd->type == FIELD_STRUCT)
			xml_fields(f, fd->sub_type, fd->sub, v, indent + 6);
		else
			xml_scalar(f, indent + 6, type_word(fd->type), v);
		fprintf(f, "%*s</field>\n", indent + 3, "");
	}
	fprintf(f, "%*s</structure>\n", indent, "");
}

static void xml_struct(FILE *f, const struct cmd *c, json_t *obj, int indent)
{
	xml_fields(f, c->type_name, body(c), obj, indent);
}

static void print_xml(FILE *f, const struct cmd *c, json_t *result)
{
	size_t i;
	json_t *obj;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
	fprintf(f, "<output xmlns=\"%s\">\n<root>\n", XML_NS);
	if (c->output == OUT_SCALAR) {
		xml_scalar(f, 3, type_word(c->fields[0].type), result);
	} else if (json_is_array(result)) {
		fprintf(f, "   <list type=\"structure\">\n");
		json_array_foreach(result, i, obj)
			xml_struct(f, c, obj, 6);
		fprintf(f, "   </list>\n");
	} else {
		xml_struct(f, c, result, 3);
	}
	fprintf(f, "</root>\n</output>\n");
}

/* ---- csv ---- */

static void csv_cell(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static char *csv_text(const struct cmd_field *fd, json_t *v)
{
	if (fd->type == FIELD_LIST)
		return list_text(v, ",", true);
	if (nested(fd)) {
		json_t *o = ordered_value(fd, v);
		char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		json_decref(o);
		return t ? t : strdup("");
	}
	return scalar_text(v);
}

static void csv_row(FILE *f, const struct cmd *c, json_t *obj)
{
	for (const struct cmd_field *fd = body(c); fd->key; fd++) {
		json_t *v = json_object_get(obj, fd->key);
		char *t = csv_text(fd, v);
		if (fd != body(c))
			fputc(',', f);
		csv_cell(f, t);
		free(t);
	}
	fputc('\n', f);
}

static void print_csv(FILE *f, const struct cmd *c, json_t *result)
{
	size_t i;
	json_t *obj;

	for (const struct cmd_field *fd = body(c); fd->key; fd++)
		fprintf(f, "%s%s", fd == body(c) ? "" : ",", fd->key);
	fputc('\n', f);
	if (c->output == OUT_SCALAR) {
		char *t = scalar_text(result);
		csv_cell(f, t);
		fputc('\n', f);
		free(t);
	} else if (json_is_array(result)) {
		json_array_foreach(result, i, obj)
			csv_row(f, c, obj);
	} else {
		csv_row(f, c, result);
	}
}

/* ---- keyvalue ---- */

static void kv_fields(FILE *f, const char *prefix, const char *type_name,
		      const struct cmd_field *fields, json_t *obj)
{
	char sub[512];
	size_t i;
	json_t *e;

	for (const struct cmd_field *fd = fields; fd->key; fd++) {
		json_t *v = json_object_get(obj, fd->key);
		if (nested(fd)) {
			snprintf(sub, sizeof(sub), "%s%s.%s.", prefix, type_name, fd->key);
			if (fd->type == FIELD_STRUCT)
				kv_fields(f, sub, fd->sub_type, fd->sub, v);
			else
				json_array_foreach(v, i, e)
					kv_fields(f, sub, fd->sub_type, fd->sub, e);
			continue;
		}
		char *t = fd->type == FIELD_LIST ? list_text(v, ",", false) : scalar_text(v);
		fprintf(f, "%s%s.%s.%s=%s\n", prefix, type_name, fd->key, type_word(fd->type), t);
		free(t);
	}
}

static void kv_struct(FILE *f, const struct cmd *c, json_t *obj)
{
	kv_fields(f, "", c->type_name, body(c), obj);
}

static void print_keyvalue(FILE *f, const struct cmd *c, json_t *result)
{
	size_t i;
	json_t *obj;

	if (c->output == OUT_SCALAR) {
		char *t = scalar_text(result);
		fprintf(f, "%s.%s=%s\n", c->type_name, type_word(c->fields[0].type), t);
		free(t);
	} else if (json_is_array(result)) {
		json_array_foreach(result, i, obj)
			kv_struct(f, c, obj);
	} else {
		kv_struct(f, c, result);
	}
}

void format_print(FILE *f, const struct cmd *c, json_t *result, enum formatter fmt)
{
	if (c->output == OUT_NONE)
		return;
	switch (fmt) {
	case FMT_JSON:
		print_json(f, c, result);
		break;
	case FMT_XML:
		print_xml(f, c, result);
		break;
	case FMT_CSV:
		print_csv(f, c, result);
		break;
	case FMT_KEYVALUE:
		print_keyvalue(f, c, result);
		break;
	case FMT_HUMAN:
		if (c->output == OUT_SCALAR) {
			char *t = scalar_text(result);
			fprintf(f, "%s\n", t);
			free(t);
		} else if (c->output == OUT_STRUCT) {
			human_single(f, c, result);
		} else if (c->output == OUT_STRUCT_LIST) {
			human_list(f, c, result);
		} else {
			human_table(f, c, result);
		}
		break;
	}
}
