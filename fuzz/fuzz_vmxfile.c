/*
 * libFuzzer target for .vmx files (src/lib/vmxfile.c, vmxfile_config.c,
 * vmmac.c).  The input is the file itself.
 *
 * Beyond "no crash, no out-of-bounds access" the target checks the
 * promises the rest of vmk relies on:
 *  - an untouched file comes back byte for byte (vmxfile_text);
 *  - every value survives an escape/parse round trip: each key is set to
 *    its own value (rewriting its line with vmk's escapes), the text is
 *    parsed again and must give the same keys and values;
 *  - vmx_vm_generate() output parses, a second run changes nothing, and
 *    every present generated adapter then has its address.
 * Paths in the input are taken relative to an empty folder; absolute
 * ones are only stat()ed and, for a regular file or block device, their
 * first bytes read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vmxfile.h"

static char vm_dir[] = "/tmp/fuzz_vmxfile.XXXXXX";
static struct vmx_vm_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The folder stays empty (nothing here writes into it): remove it. */
static void remove_vm_dir(void)
{
	rmdir(vm_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(vm_dir))
		abort();
	atexit(remove_vm_dir);
	return 0;
}

/* Every key of one file must be in the other (arg) with the same value. */
static int same_value(const char *key, const char *value, unsigned line, void *arg)
{
	const char *other = vmxfile_get(arg, key);

	(void)line;
	if (!other || strcmp(other, value) != 0)
		abort();
	return 0;
}

static int set_to_itself(const char *key, const char *value, unsigned line, void *arg)
{
	char *copy = strdup(value);

	(void)line;
	if (!copy)
		abort();
	/* value belongs to the line being replaced: pass a copy */
	if (vmxfile_set(arg, key, copy) != 0)
		abort();
	free(copy);
	return 0;
}

/* f's text parsed again; NULL only when it grew past the size limit. */
static struct vmxfile *reparse(const struct vmxfile *f)
{
	char err[256], *text;
	size_t len;
	struct vmxfile *g;

	text = vmxfile_text(f, &len);
	if (!text)
		abort();
	g = vmxfile_parse(text, len, "again.vmx", err, sizeof(err));
	if (!g && len <= VMXFILE_MAX_BYTES) {
		fprintf(stderr, "re-parse failed: %s\n", err);
		abort();
	}
	free(text);
	return g;
}

static void check_round_trip(struct vmxfile *f, const uint8_t *data, size_t size)
{
	size_t len;
	char *text = vmxfile_text(f, &len);
	struct vmxfile *g;

	if (!text || len != size || memcmp(text, data, size) != 0)
		abort();
	free(text);
	/* rewrite every line with vmk's escapes: same keys, same values */
	vmxfile_foreach(f, set_to_itself, f);
	g = reparse(f);
	if (g) {
		vmxfile_foreach(f, same_value, g);
		vmxfile_foreach(g, same_value, f);
		vmxfile_free(g);
	}
}

/* After vmx_vm_generate(): a uuid.bios, and an address for every
 * present adapter whose address is generated. */
static void check_generated_keys(const struct vmxfile *g)
{
	char key[48];
	const char *v;
	bool present;

	if (!vmxfile_get(g, "uuid.bios"))
		abort();
	for (unsigned n = 0; n < VMXFILE_MAX_NICS; n++) {
		snprintf(key, sizeof(key), "ethernet%u.present", n);
		v = vmxfile_get(g, key);
		if (!v || vmx_parse_bool(v, &present) != 0 || !present)
			continue;
		snprintf(key, sizeof(key), "ethernet%u.addressType", n);
		v = vmxfile_get(g, key);
		if (v && strcasecmp(v, "generated") != 0)
			continue;
		snprintf(key, sizeof(key), "ethernet%u.generatedAddress", n);
		if (!vmxfile_get(g, key))
			abort();
	}
}

static void check_generate(struct vmxfile *f)
{
	char err[512];
	bool changed;
	struct vmxfile *g;

	if (vmx_vm_generate(f, &changed, err, sizeof(err)) != 0)
		return;
	g = reparse(f);
	if (!g)
		return;
	if (vmx_vm_generate(g, &changed, err, sizeof(err)) != 0 || changed)
		abort();
	check_generated_keys(g);
	vmx_vm_config_from(g, vm_dir, &cfg, err, sizeof(err));
	vmxfile_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct vmxfile *f = vmxfile_parse((const char *)data, size, "fuzz.vmx", err, sizeof(err));

	if (!f)
		return 0;
	vmxfile_get(f, "displayName");
	vmxfile_line(f, "memsize");
	vmx_vm_config_from(f, vm_dir, &cfg, err, sizeof(err));
	check_round_trip(f, data, size);
	check_generate(f);
	vmxfile_free(f);
	return 0;
}
