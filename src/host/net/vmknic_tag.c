/*
 * Service tags of VMkernel adapters: `esxcli network ip interface tag
 * add|remove|get`.  A tag says which traffic an adapter carries; the
 * names are the reference's (accepted in any case, stored as spelt
 * here), kept comma-joined in the adapter's row.
 *
 * The reference's stack rules:
 *   - an adapter on the vmotion stack carries VMotion only, one on the
 *     vSphereProvisioning stack vSphereProvisioning only; joining such a
 *     stack tags the adapter with its service, and from then on the
 *     default stack's adapters are "disabled for" that service: their
 *     tag is taken off (logged), and tagging one again is refused while
 *     the special stack has adapters;
 *   - services are enabled on the default stack: an adapter on a custom
 *     stack takes no tag.
 * A tag on the wrong stack is an error naming the adapter and the stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "ip.h"
#include "store.h"
#include "vmklog.h"

static const char *const tag_names[] = {
	"Management", "VMotion", "faultToleranceLogging", "vSphereReplication",
	"vSphereReplicationNFC", "vSphereProvisioning", "VSAN", "VSANWitness",
	"vSphereBackupNFC", "PTP", "NVMeTCP", "NVMeRDMA",
};

#define NTAGS (sizeof(tag_names) / sizeof(tag_names[0]))
#define TAGS_LEN 512

/* The special stacks and the one service each carries. */
static const struct { const char *stack, *tag; } dedicated[] = {
	{ "vmotion", "VMotion" },
	{ "vSphereProvisioning", "vSphereProvisioning" },
};

static const char *canonical(const char *tag)
{
	for (size_t i = 0; i < NTAGS; i++)
		if (strcasecmp(tag, tag_names[i]) == 0)
			return tag_names[i];
	return NULL;
}

static const char *dedicated_tag(const char *stack)
{
	for (size_t i = 0; i < 2; i++)
		if (strcmp(stack, dedicated[i].stack) == 0)
			return dedicated[i].tag;
	return NULL;
}

static const char *dedicated_stack(const char *tag)
{
	for (size_t i = 0; i < 2; i++)
		if (strcmp(tag, dedicated[i].tag) == 0)
			return dedicated[i].stack;
	return NULL;
}

static bool has_tag(const char *tags, const char *tag)
{
	size_t n = strlen(tag);

	for (const char *p = tags; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		if (strncmp(p, tag, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* tags without tag, into out. */
static void without(const char *tags, const char *tag, char *out, size_t len)
{
	char *copy = strdup(tags), *save = NULL;

	out[0] = '\0';
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, tag) == 0)
			continue;
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%s", used ? "," : "", t);
	}
	free(copy);
}

static int store_tags(long long id, const char *tags)
{
	return store_exec("UPDATE vmknic SET tags = ? WHERE id = ?", "sl", tags, id);
}

/* Takes tag off every adapter of the default stack (logged). */
static int untag_default_stack(const char *tag)
{
	sqlite3_stmt *st = store_stmt("SELECT k.id, k.name, k.tags FROM vmknic k JOIN netstack n "
				      "ON k.netstack = n.id WHERE n.name = ?", "s", DEFAULT_STACK);
	char out[TAGS_LEN];
	int r = st ? 0 : -1;

	while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
		if (!has_tag(store_col_text(st, 2), tag))
			continue;
		without(store_col_text(st, 2), tag, out, sizeof(out));
		r = store_tags(sqlite3_column_int64(st, 0), out);
		vmklog("Vmknic", "%s untagged %s: the %s netstack carries it now",
		       store_col_text(st, 1), tag, dedicated_stack(tag));
	}
	sqlite3_finalize(st);
	return r;
}

int tags_stack_joined(long long vmknic, const char *netstack)
{
	const char *tag = dedicated_tag(netstack);

	if (!tag)
		return 0;
	return store_tags(vmknic, tag) || untag_default_stack(tag) ? -1 : 0;
}

struct tag_req {
	const char *name, *given, *tag;
	long long id;
	char stack[STACK_NAME_MAX + 1];
	char tags[TAGS_LEN];
};

static int load_req(json_t *params, struct tag_req *r)
{
	r->name = param_str(params, "interface-name");
	r->given = param_str(params, "tagname");
	if (!(r->id = vmknic_id(r->name)))
		return API_ERR(err_no_vmknic(r->name));
	store_text(r->stack, sizeof(r->stack), "SELECT n.name FROM vmknic k JOIN netstack n ON "
		   "k.netstack = n.id WHERE k.id = ?", "l", r->id);
	store_text(r->tags, sizeof(r->tags), "SELECT tags FROM vmknic WHERE id = ?", "l", r->id);
	if (r->given && !(r->tag = canonical(r->given)))
		return API_ERR(api_invalid("Invalid --tagname '%s': not a tag (Management, VMotion, "
					   "faultToleranceLogging, vSphereReplication, "
					   "vSphereReplicationNFC, vSphereProvisioning, VSAN, "
					   "VSANWitness, vSphereBackupNFC, PTP, NVMeTCP, NVMeRDMA)",
					   r->given));
	return 0;
}

/* The stack rules for adding tag to the adapter. */
static int check_stack(const struct tag_req *r)
{
	const char *only = dedicated_tag(r->stack), *special = dedicated_stack(r->tag);
	char users[64];

	if (only && strcmp(only, r->tag) != 0)
		return API_ERR(api_invalid("Invalid --tagname '%s': %s is on the %s netstack, "
					   "which carries %s only", r->given, r->name, r->stack,
					   only));
	if (!only && strcmp(r->stack, DEFAULT_STACK) != 0)
		return API_ERR(api_invalid("Invalid --tagname '%s': %s is on the custom netstack "
					   "%s, whose interfaces carry no service tags", r->given,
					   r->name, r->stack));
	if (!only && special &&
	    store_text(users, sizeof(users), "SELECT k.name FROM vmknic k JOIN netstack n ON "
		       "k.netstack = n.id WHERE n.name = ? ORDER BY k.id", "s", special))
		return API_ERR(api_invalid("Invalid --tagname '%s': the %s netstack carries %s on "
					   "this host (%s is on it)", r->given, special, r->tag,
					   users));
	return 0;
}

static json_t *tag_add(json_t *params)
{
	struct tag_req r = { 0 };
	char out[TAGS_LEN + 32];

	if (load_req(params, &r) || check_stack(&r))
		return NULL;
	if (has_tag(r.tags, r.tag))
		return api_invalid("Invalid --tagname '%s': Vmknic is already tagged with %s",
				   r.given, r.tag);
	snprintf(out, sizeof(out), "%s%s%s", r.tags, r.tags[0] ? "," : "", r.tag);
	if (store_tags(r.id, out))
		return api_store_error();
	vmklog("Vmknic", "%s tagged %s", r.name, r.tag);
	return json_true();
}

static json_t *tag_remove(json_t *params)
{
	struct tag_req r = { 0 };
	char out[TAGS_LEN];

	if (load_req(params, &r))
		return NULL;
	if (!has_tag(r.tags, r.tag))
		return api_invalid("Invalid --tagname '%s': %s is not tagged with %s", r.given,
				   r.name, r.tag);
	without(r.tags, r.tag, out, sizeof(out));
	if (store_tags(r.id, out))
		return api_store_error();
	vmklog("Vmknic", "%s untagged %s", r.name, r.tag);
	return json_true();
}

static json_t *tag_get(json_t *params)
{
	struct tag_req r = { 0 };
	char *save = NULL;

	if (load_req(params, &r))
		return NULL;
	json_t *list = json_array();
	for (char *t = strtok_r(r.tags, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(list, json_string(t));
	return json_pack("{s:o}", "Tags", list);
}

static const struct api_method methods[] = {
	{ "network.ip.interface.tag.add", tag_add },
	{ "network.ip.interface.tag.remove", tag_remove },
	{ "network.ip.interface.tag.get", tag_get },
	{ 0 }
};

void vmknic_tag_register(void)
{
	api_register(methods);
}
