/*
 * vim-cmd's output: what each command prints on success, and the fault
 * dump it prints when vmkd refuses an operation.
 *
 * The shapes are the reference's (shared/reference/esxcli.md, 8.3):
 * getallvms is a table whose column widths come from the content;
 * power.getstate prints "Retrieved runtime info" and the state;
 * get.summary, get.guest and faults are dumps of vSphere API objects,
 *
 *   Power on failed: (vim.fault.GenericVmConfigFault) {
 *      faultCause = (vmodl.MethodFault) null,
 *      faultMessage = <unset>,
 *      reason = "..."
 *      msg = "..."
 *   }
 *
 * where each member line ends in ", " except the last before msg, as the
 * reference's dumps show.  vmkd's error message is the fault's text; it
 * may carry the operation ("Power on failed: ") and the fault type with
 * its members ("(vim.fault.InvalidPowerState) requestedState = \"x\",
 * existingState = \"y\": text"), which the dump then uses.
 */
#include "vimcmd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmmac.h"

#define GETALLVMS_SEP "   "

/* ---- small helpers ---------------------------------------------------- */

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* A member as text: strings as they are, integers in decimal. */
static char *text(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	char *out = NULL;

	if (json_is_integer(v)) {
		if (asprintf(&out, "%lld", (long long)json_integer_value(v)) < 0)
			out = NULL;
	} else {
		out = strdup(json_string_value(v) ? json_string_value(v) : "");
	}
	if (!out)
		abort(); /* out of memory in a short-lived CLI */
	return out;
}

/* ---- getallvms ------------------------------------------------------------ */

static const char *const columns[][2] = {
	{ "vmid", "Vmid" }, { "name", "Name" }, { "file", "File" },
	{ "guest_os", "Guest OS" }, { "version", "Version" }, { "annotation", "Annotation" },
};
#define NCOLS (sizeof(columns) / sizeof(columns[0]))

static void getallvms_row(FILE *f, char **cells, const size_t *w)
{
	for (size_t k = 0; k < NCOLS; k++) {
		if (k == NCOLS - 1)
			fprintf(f, "%s\n", cells[k]);
		else
			fprintf(f, "%-*s" GETALLVMS_SEP, (int)w[k], cells[k]);
	}
}

static void print_getallvms(FILE *f, json_t *result)
{
	size_t w[NCOLS], i;
	char *cells[NCOLS];
	json_t *vm;

	for (size_t k = 0; k < NCOLS; k++) {
		cells[k] = (char *)columns[k][1];
		w[k] = strlen(columns[k][1]);
	}
	json_array_foreach(result, i, vm) {
		for (size_t k = 0; k < NCOLS; k++) {
			char *t = text(vm, columns[k][0]);

			if (strlen(t) > w[k])
				w[k] = strlen(t);
			free(t);
		}
	}
	getallvms_row(f, cells, w);
	json_array_foreach(result, i, vm) {
		for (size_t k = 0; k < NCOLS; k++)
			cells[k] = text(vm, columns[k][0]);
		getallvms_row(f, cells, w);
		for (size_t k = 0; k < NCOLS; k++)
			free(cells[k]);
	}
}

/* ---- the others --------------------------------------------------------- */

static void print_getstate(FILE *f, json_t *result)
{
	fprintf(f, "Retrieved runtime info\n%s\n", str(result, "state"));
}

static void print_registervm(FILE *f, json_t *result)
{
	char *t = text(result, "vmid");

	fprintf(f, "%s\n", t);
	free(t);
}

/* "56 4d 67 fa ...-..." as the API's UUID "564d67fa-b9f2-da11-aa79-475007db8b71". */
static void api_uuid(const char *bios, char *buf, size_t len)
{
	uint8_t u[16];

	if (vmx_uuid_parse(bios, u) < 0) {
		snprintf(buf, len, "%s", bios);
		return;
	}
	snprintf(buf, len,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

/* One member line of a dump: indent, "name = value", ", " unless last. */
static void member(FILE *f, int indent, const char *name, const char *value, bool last)
{
	fprintf(f, "%*s%s = %s%s\n", indent, "", name, value, last ? "" : ", ");
}

static void member_str(FILE *f, int indent, const char *name, const char *value, bool last)
{
	fprintf(f, "%*s%s = \"%s\"%s\n", indent, "", name, value, last ? "" : ", ");
}

static void member_int(FILE *f, int indent, const char *name, json_t *obj, const char *key,
		       bool last)
{
	char *t = text(obj, key);

	member(f, indent, name, t[0] ? t : "0", last);
	free(t);
}

static void print_summary(FILE *f, json_t *r)
{
	char vm[64], uuid[64];
	char *vmid = text(r, "vmid");

	snprintf(vm, sizeof(vm), "'vim.VirtualMachine:%s'", vmid);
	free(vmid);
	api_uuid(str(r, "uuid"), uuid, sizeof(uuid));
	fprintf(f, "Listsummary:\n(vim.vm.Summary) {\n");
	member(f, 3, "vm", vm, false);
	fprintf(f, "   runtime = (vim.vm.RuntimeInfo) {\n");
	member(f, 6, "host", "'vim.HostSystem:ha-host'", false);
	member_str(f, 6, "connectionState", "connected", false);
	member_str(f, 6, "powerState", str(r, "power_state"), true);
	fprintf(f, "   }, \n   guest = (vim.vm.Summary.GuestSummary) {\n");
	member_str(f, 6, "guestId", str(r, "guest_os"), true);
	fprintf(f, "   }, \n   config = (vim.vm.Summary.ConfigSummary) {\n");
	member_str(f, 6, "name", str(r, "name"), false);
	member(f, 6, "template", "false", false);
	member_str(f, 6, "vmPathName", str(r, "file"), false);
	member_int(f, 6, "memorySizeMB", r, "memory_mb", false);
	member_int(f, 6, "numCpu", r, "num_cpu", false);
	member_int(f, 6, "numEthernetCards", r, "num_ethernet", false);
	member_int(f, 6, "numVirtualDisks", r, "num_disks", false);
	member_str(f, 6, "uuid", uuid, false);
	member_str(f, 6, "guestId", str(r, "guest_os"), false);
	member_str(f, 6, "annotation", str(r, "annotation"), false);
	member_str(f, 6, "hwVersion", str(r, "version"), true);
	fprintf(f, "   }, \n");
	member_str(f, 3, "overallStatus", "green", true);
	fprintf(f, "}\n");
}

/* One (vim.vm.GuestInfo.NicInfo) of get.guest's net list. */
static void print_nic(FILE *f, json_t *n, bool last)
{
	char *key = text(n, "device_config_id");

	fprintf(f, "      (vim.vm.GuestInfo.NicInfo) {\n");
	member_str(f, 9, "network", str(n, "network"), false);
	member(f, 9, "ipAddress", "(string) []", false);
	member_str(f, 9, "macAddress", str(n, "mac_address"), false);
	member(f, 9, "connected", json_is_true(json_object_get(n, "connected")) ? "true" : "false",
	       false);
	member(f, 9, "deviceConfigId", key[0] ? key : "0", true);
	fprintf(f, "      }%s\n", last ? "" : ", ");
	free(key);
}

/* A string member, <unset> when vmkd has none (only Tools would know). */
static void member_opt(FILE *f, int indent, const char *name, const char *value, bool last)
{
	if (value[0])
		member_str(f, indent, name, value, last);
	else
		member(f, indent, name, "<unset>", last);
}

/* get.guest: the API's GuestInfo in its field order, the members vmkd
 * knows (no Tools: no host name, addresses, disks or screen). */
static void print_guest(FILE *f, json_t *r)
{
	json_t *net = json_object_get(r, "net"), *n;
	size_t i, count = json_array_size(net);

	fprintf(f, "Guest information:\n\n(vim.vm.GuestInfo) {\n");
	member_str(f, 3, "toolsStatus", str(r, "tools_status"), false);
	member_str(f, 3, "toolsVersionStatus2", str(r, "tools_version_status2"), false);
	member_str(f, 3, "toolsRunningStatus", str(r, "tools_running_status"), false);
	member_opt(f, 3, "guestId", str(r, "guest_id"), false);
	member_opt(f, 3, "guestFullName", str(r, "guest_full_name"), false);
	member_opt(f, 3, "hostName", str(r, "host_name"), false);
	member_opt(f, 3, "ipAddress", str(r, "ip_address"), false);
	if (count == 0) {
		member(f, 3, "net", "(vim.vm.GuestInfo.NicInfo) []", false);
	} else {
		fprintf(f, "   net = (vim.vm.GuestInfo.NicInfo) [\n");
		json_array_foreach(net, i, n)
			print_nic(f, n, i + 1 == count);
		fprintf(f, "   ], \n");
	}
	member(f, 3, "disk", "(vim.vm.GuestInfo.DiskInfo) []", false);
	member(f, 3, "screen", "(vim.vm.GuestInfo.ScreenInfo) null", false);
	member_str(f, 3, "guestState", str(r, "guest_state"), true);
	fprintf(f, "}\n");
}

/* hostsvc/datastore/listsummary: a list of (vim.Datastore.Summary). */
static void print_datastores(FILE *f, json_t *list)
{
	size_t i, n = json_array_size(list);
	json_t *d;

	fprintf(f, "(vim.Datastore.Summary) [\n");
	json_array_foreach(list, i, d) {
		char ref[160];
		snprintf(ref, sizeof(ref), "'vim.Datastore:%s'", str(d, "uuid"));
		fprintf(f, "   (vim.Datastore.Summary) {\n");
		member(f, 6, "datastore", ref, false);
		member_str(f, 6, "name", str(d, "name"), false);
		member_str(f, 6, "url", str(d, "url"), false);
		member_int(f, 6, "capacity", d, "capacity", false);
		member_int(f, 6, "freeSpace", d, "free_space", false);
		member(f, 6, "accessible", json_is_true(json_object_get(d, "accessible")) ?
		       "true" : "false", false);
		member_str(f, 6, "type", str(d, "type"), false);
		member_str(f, 6, "maintenanceMode", "normal", true);
		fprintf(f, "   }%s\n", i + 1 < n ? ", " : "");
	}
	fprintf(f, "]\n");
}

void vimcmd_print(FILE *f, const struct cmd *c, json_t *result)
{
	if (strcmp(c->verb, "getallvms") == 0)
		print_getallvms(f, result);
	else if (strcmp(c->verb, "power.getstate") == 0)
		print_getstate(f, result);
	else if (strcmp(c->verb, "get.summary") == 0)
		print_summary(f, result);
	else if (strcmp(c->verb, "get.guest") == 0)
		print_guest(f, result);
	else if (strcmp(c->verb, "registervm") == 0)
		print_registervm(f, result);
	else if (strcmp(c->verb, "listsummary") == 0)
		print_datastores(f, result);
}

/* ---- faults --------------------------------------------------------------- */

struct fault {
	char op[64];      /* "Power on failed" */
	char type[96];    /* "vim.fault.GenericVmConfigFault" */
	char names[8][48];
	char values[8][128];
	int nr;
	const char *msg;
};

/* "name = \"value\"" at *p into f's next member; advances *p. */
static bool parse_member(const char **p, struct fault *f)
{
	const char *s = *p, *n0 = s, *v0, *v1;

	while (isalnum((unsigned char)*s))
		s++;
	if (s == n0 || (size_t)(s - n0) >= sizeof(f->names[0]) || strncmp(s, " = \"", 4) != 0)
		return false;
	v0 = s + 4;
	v1 = strchr(v0, '"');
	if (!v1 || (size_t)(v1 - v0) >= sizeof(f->values[0]) || f->nr == 8)
		return false;
	snprintf(f->names[f->nr], sizeof(f->names[0]), "%.*s", (int)(s - n0), n0);
	snprintf(f->values[f->nr], sizeof(f->values[0]), "%.*s", (int)(v1 - v0), v0);
	f->nr++;
	*p = v1 + 1;
	return true;
}

/* Members up to ": " (then the text); none if they do not parse. */
static void parse_members(struct fault *f, const char *s)
{
	const char *p = s;

	f->msg = s;
	f->nr = 0;
	while (parse_member(&p, f)) {
		if (strncmp(p, ": ", 2) == 0) {
			f->msg = p + 2;
			return;
		}
		if (strncmp(p, ", ", 2) != 0)
			break;
		p += 2;
	}
	f->nr = 0; /* not members after all: the whole text is the message */
}

static void parse_fault(struct fault *f, const char *op, const char *message)
{
	const char *s = message, *failed = strstr(message, " failed: ");

	snprintf(f->op, sizeof(f->op), "%s failed", op);
	snprintf(f->type, sizeof(f->type), "vim.fault.GenericVmConfigFault");
	/* vmkd's own "<Operation> failed: " prefix, if it starts the text */
	if (failed && (size_t)(failed - s) < sizeof(f->op) && !memchr(s, ':', (size_t)(failed - s))) {
		snprintf(f->op, sizeof(f->op), "%.*s failed", (int)(failed - s), s);
		s = failed + strlen(" failed: ");
	}
	if (strncmp(s, "(vim.fault.", 11) == 0) {
		const char *end = strchr(s, ')');

		if (end && (size_t)(end - s - 1) < sizeof(f->type)) {
			snprintf(f->type, sizeof(f->type), "%.*s", (int)(end - s - 1), s + 1);
			s = end + 1;
			while (*s == ' ')
				s++;
			parse_members(f, s);
			return;
		}
	}
	f->nr = 0;
	f->msg = s;
}

void vimcmd_print_fault(FILE *out, const char *op, const char *message)
{
	struct fault f;
	bool generic;

	parse_fault(&f, op, message);
	generic = strcmp(f.type, "vim.fault.GenericVmConfigFault") == 0;
	fprintf(out, "%s: (%s) {\n", f.op, f.type);
	member(out, 3, "faultCause", "(vmodl.MethodFault) null", false);
	member(out, 3, "faultMessage", "<unset>", f.nr == 0 && !generic);
	if (generic && f.nr == 0)
		member_str(out, 3, "reason", f.msg, true);
	for (int i = 0; i < f.nr; i++)
		member_str(out, 3, f.names[i], f.values[i], i == f.nr - 1);
	fprintf(out, "   msg = \"%s\"\n}\n", f.msg);
}
