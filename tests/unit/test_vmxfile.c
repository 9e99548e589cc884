/*
 * Unit tests for .vmx files (src/lib/vmxfile.c, vmxfile_config.c,
 * vmmac.c): the file comes back byte for byte after a rewrite, the |XX
 * escapes both ways, every parse and validation error names the file,
 * the line and the key, MAC generation and the static/vpx ranges, and
 * the atomic save.  Each test works in a fresh folder under /tmp holding
 * a kernel, an initrd and raw disks for the .vmx to point at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmxfile.h"

static char dir[64];
static char err[512];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_vmxfile.XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_file("kernel", "\x7f" "ELF");
	write_file("initrd", "initrd");
	write_file("disk.img", "raw disk bytes");
	write_file("disk2.img", "more raw bytes");
	write_file("desc.vmdk", "# Disk DescriptorFile\nversion=1\n");
	write_file("sparse.vmdk", "KDMV\x01");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct vmxfile *parse(const char *text)
{
	return vmxfile_parse(text, strlen(text), "vm.vmx", err, sizeof(err));
}

/* The smallest .vmx vmk can run, with the extra lines after it. */
static const char base[] = "memsize = \"64\"\n"
			   "vmk.kernel = \"kernel\"\n"
			   "uuid.bios = \"56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71\"\n";

/* Parses base + extra and builds the config: 0 or -1 (err set). */
static int config(const char *extra, struct vmx_vm_config *cfg)
{
	char text[4096];
	struct vmxfile *f;
	int rc;

	snprintf(text, sizeof(text), "%s%s", base, extra);
	f = parse(text);
	if (!f)
		return -2;
	rc = vmx_vm_config_from(f, dir, cfg, err, sizeof(err));
	vmxfile_free(f);
	return rc;
}

static struct vmx_vm_config cfg; /* too big for a comfortable stack frame */

/* extra must be refused by config with a message containing want. */
static void config_fails(const char *extra, const char *want)
{
	err[0] = '\0';
	if (config(extra, &cfg) != -1)
		fail_msg("accepted: %s (%s)", extra, err);
	if (!strstr(err, want))
		fail_msg("for %s: expected \"%s\" in \"%s\"", extra, want, err);
}

static void parse_fails(const char *text, const char *want)
{
	struct vmxfile *f;

	err[0] = '\0';
	f = parse(text);
	if (f)
		fail_msg("parsed: %s", text);
	if (!strstr(err, want))
		fail_msg("for %s: expected \"%s\" in \"%s\"", text, want, err);
}

/* ---- the file ------------------------------------------------------ */

static const char messy[] = ".encoding = \"UTF-8\"\r\n"
			    "# a comment, kept\r\n"
			    "\r\n"
			    "   displayName   =   \"web 01\"   # trailing comment\r\n"
			    "config.version = \"8\"\n"
			    "\tsome.unknown.Key=\"keep me\"\n"
			    "bare = word\n"
			    "floppy0.present = \"FALSE\"\n"
			    "annotation = \"line|0Aquote|22bar|7C\"";

static void test_round_trip_verbatim(void **state)
{
	struct vmxfile *f = parse(messy);
	size_t len;
	char *text;

	(void)state;
	assert_non_null(f);
	text = vmxfile_text(f, &len);
	assert_int_equal(len, strlen(messy));
	assert_string_equal(text, messy);
	free(text);

	assert_string_equal(vmxfile_get(f, "DISPLAYNAME"), "web 01");
	assert_string_equal(vmxfile_get(f, "Some.Unknown.key"), "keep me");
	assert_string_equal(vmxfile_get(f, "bare"), "word");
	assert_int_equal(vmxfile_line(f, "displayname"), 4);
	assert_int_equal(vmxfile_line(f, "nope"), 0);
	assert_null(vmxfile_get(f, "nope"));

	/* one changed line, one added: everything else byte for byte */
	assert_int_equal(vmxfile_set(f, "DisplayName", "web 02"), 0);
	assert_int_equal(vmxfile_set(f, "memsize", "128"), 0);
	text = vmxfile_text(f, NULL);
	assert_string_equal(text, ".encoding = \"UTF-8\"\r\n"
				  "# a comment, kept\r\n"
				  "\r\n"
				  "displayName = \"web 02\"\r\n"
				  "config.version = \"8\"\n"
				  "\tsome.unknown.Key=\"keep me\"\n"
				  "bare = word\n"
				  "floppy0.present = \"FALSE\"\n"
				  "annotation = \"line|0Aquote|22bar|7C\"\n"
				  "memsize = \"128\"\n");
	free(text);
	assert_int_equal(vmxfile_line(f, "memsize"), 0);

	assert_int_equal(vmxfile_remove(f, "bare"), 0);
	assert_int_equal(vmxfile_remove(f, "bare"), -1);
	assert_null(vmxfile_get(f, "bare"));
	text = vmxfile_text(f, NULL);
	assert_null(strstr(text, "bare"));
	free(text);
	vmxfile_free(f);
}

static void test_empty_file(void **state)
{
	struct vmxfile *f = parse("");
	char *text;

	(void)state;
	assert_non_null(f);
	assert_int_equal(vmxfile_set(f, "a.b", "c"), 0);
	text = vmxfile_text(f, NULL);
	assert_string_equal(text, "a.b = \"c\"\n");
	free(text);
	vmxfile_free(f);
}

static void test_escapes(void **state)
{
	struct vmxfile *f = parse(messy), *g;
	char buf[64], *text;

	(void)state;
	assert_non_null(f);
	assert_string_equal(vmxfile_get(f, "annotation"), "line\nquote\"bar|");
	assert_int_equal(vmxfile_set(f, "annotation", "a \"b\" | #c\nd\te"), 0);
	text = vmxfile_text(f, NULL);
	assert_non_null(strstr(text, "annotation = \"a |22b|22 |7C |23c|0Ad|09e\""));
	g = parse(text);
	assert_non_null(g);
	assert_string_equal(vmxfile_get(g, "annotation"), "a \"b\" | #c\nd\te");
	free(text);
	vmxfile_free(g);
	vmxfile_free(f);

	/* lower-case hex is read too; UTF-8 passes through unescaped */
	f = parse("a = \"|7c|3d caf\xc3\xa9\"\n");
	assert_non_null(f);
	assert_string_equal(vmxfile_get(f, "a"), "|= caf\xc3\xa9");
	vmxfile_free(f);

	assert_int_equal(vmxfile_escape("x\"y", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "x|22y");
	assert_int_equal(vmxfile_escape("\"\"\"", buf, 9), -1);
	assert_int_equal(vmxfile_escape("\"\"\"", buf, 10), 0);

	parse_fails("a = \"x|2\"\n", "vm.vmx:1: a: '|' must start an escape");
	parse_fails("a = \"x|zz\"\n", "vm.vmx:1: a: '|' must start");
	parse_fails("a = \"x|\"\n", "vm.vmx:1: a: '|' must start");
	parse_fails("a = \"x|00\"\n", "vm.vmx:1: a: value contains |00");
	parse_fails("a = \"caf\xe9\"\n", "vm.vmx:1: a: value is not valid UTF-8");
	parse_fails("a = \"|C3|28\"\n", "value is not valid UTF-8");
}

static void test_parse_errors(void **state)
{
	char big[VMXFILE_MAX_VALUE + 32];

	(void)state;
	parse_fails("ok = \"1\"\nkey \"v\"\n", "vm.vmx:2: key: expected '='");
	parse_fails("key = \"v\n", "vm.vmx:1: key: missing closing quote");
	parse_fails("a = \"1\"\n# c\nA = \"2\"\n", "vm.vmx:3: A: duplicate key (first set on line 1)");
	parse_fails("a = \"1\" junk\n", "vm.vmx:1: a: unexpected text after the value");
	parse_fails("a = \n", "vm.vmx:1: a: missing value");
	parse_fails("a/b = \"1\"\n", "vm.vmx:1: a: expected '='");
	parse_fails("= \"1\"\n", "vm.vmx:1: expected a key");
	parse_fails("a = \"x\x01y\"\n", "vm.vmx:1: a: control byte 0x01");
	assert_null(vmxfile_parse("a = \"x\"\nb = \"y\0\"\n", 17, "vm.vmx", err, sizeof(err)));
	assert_string_equal(err, "vm.vmx:2: NUL byte in the line");
	parse_fails(".encoding = \"windows-1252\"\n", "vm.vmx:1: .encoding: only UTF-8");
	memset(big, 'k', sizeof(big));
	big[VMXFILE_MAX_KEY + 1] = '\0';
	parse_fails(big, "key longer than");
	snprintf(big, sizeof(big), "a = \"%*s\"\n", VMXFILE_MAX_VALUE + 1, "v");
	parse_fails(big, "vm.vmx:1: a: value longer than");

	char *huge = malloc(VMXFILE_MAX_BYTES + 2);
	assert_non_null(huge);
	memset(huge, '\n', VMXFILE_MAX_BYTES + 1);
	assert_null(vmxfile_parse(huge, VMXFILE_MAX_BYTES + 1, "vm.vmx", err, sizeof(err)));
	assert_non_null(strstr(err, "larger than"));
	free(huge);
}

static void test_set_refuses(void **state)
{
	struct vmxfile *f = parse("a = \"1\"\n");

	(void)state;
	assert_int_equal(vmxfile_set(f, "bad key", "v"), -1);
	assert_int_equal(vmxfile_set(f, "", "v"), -1);
	assert_int_equal(vmxfile_set(f, "a", "\xff"), -1);
	assert_string_equal(vmxfile_get(f, "a"), "1");
	vmxfile_free(f);
}

static void test_save_atomic(void **state)
{
	char path[128], *text;
	struct vmxfile *f = parse(messy), *g;
	struct stat st;
	DIR *d;
	struct dirent *e;

	(void)state;
	snprintf(path, sizeof(path), "%s/vm.vmx", dir);
	write_file("vm.vmx", "old\n");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(vmxfile_set(f, "memsize", "256"), 0);
	assert_int_equal(vmxfile_save(f, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	g = vmxfile_load(path, err, sizeof(err));
	assert_non_null(g);
	assert_string_equal(vmxfile_get(g, "memsize"), "256");
	assert_string_equal(vmxfile_name(g), path);
	text = vmxfile_text(g, NULL);
	char *orig = vmxfile_text(f, NULL);
	assert_string_equal(text, orig);
	free(orig);
	free(text);
	vmxfile_free(g);

	/* no temporary file left behind */
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)))
		assert_null(strstr(e->d_name, ".tmp"));
	closedir(d);

	/* a folder that does not exist: an error, nothing written */
	snprintf(path, sizeof(path), "%s/nope/vm.vmx", dir);
	assert_int_equal(vmxfile_save(f, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "temporary file"));
	vmxfile_free(f);

	assert_null(vmxfile_load("/nonexistent/vm.vmx", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/vm.vmx: No such file"));
	assert_null(vmxfile_load(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
}

static int cb(const char *k, const char *v, unsigned line, void *arg)
{
	int *count = arg;

	assert_int_equal(line, (unsigned)*count + 2);
	assert_string_equal(k, *count ? "b" : "A");
	assert_string_equal(v, *count ? "2" : "1");
	++*count;
	return 0;
}

static void test_foreach(void **state)
{
	struct vmxfile *f = parse("# c\nA = \"1\"\nb = \"2\"\n");
	int count = 0;

	(void)state;
	assert_non_null(f);
	assert_int_equal(vmxfile_foreach(f, cb, &count), 0);
	assert_int_equal(count, 2);
	vmxfile_free(f);
}

/* ---- the VM ------------------------------------------------------------ */

static void test_config_full(void **state)
{
	char text[2048], path[256], mac[18], uuid[VMX_UUID_STRLEN];

	(void)state;
	snprintf(text, sizeof(text),
		 "displayName = \"db|22one|22\"\n"
		 "guestOS = \"otherlinux-64\"\n"
		 "virtualHW.version = \"21\"\n"
		 "numvcpus = \"4\"\n"
		 "vmk.initrd = \"%s/initrd\"\n"
		 "vmk.cmdline = \"console=ttyS0 quiet\"\n"
		 "vmk.debugExit = \"TRUE\"\n"
		 "scsi0.present = \"TRUE\"\n"
		 "scsi0:0.present = \"TRUE\"\n"
		 "scsi0:0.fileName = \"disk.img\"\n"
		 "scsi0:1.present = \"TRUE\"\n"
		 "scsi0:1.fileName = \"disk2.img\"\n"
		 "scsi0:1.mode = \"independent-persistent\"\n"
		 "ide1:0.present = \"TRUE\"\n"
		 "ide1:0.deviceType = \"atapi-cdrom\"\n"
		 "sata0:0.present = \"TRUE\"\n"
		 "sata0:0.deviceType = \"cdrom-image\"\n"
		 "sata0:0.fileName = \"disk2.img\"\n"
		 "ethernet0.present = \"TRUE\"\n"
		 "ethernet0.networkName = \"VM Network\"\n"
		 "ethernet0.virtualDev = \"VMXNET3\"\n"
		 "ethernet2.present = \"TRUE\"\n"
		 "ethernet2.networkName = \"pg2\"\n"
		 "ethernet2.addressType = \"static\"\n"
		 "ethernet2.address = \"00:50:56:3f:ff:ff\"\n"
		 "ethernet3.present = \"FALSE\"\n"
		 "ethernet4.present = \"TRUE\"\n"
		 "ethernet4.networkName = \"pg4\"\n"
		 "ethernet4.addressType = \"vpx\"\n"
		 "ethernet4.generatedAddress = \"00:50:56:80:00:01\"\n"
		 "ethernet4.startConnected = \"FALSE\"\n"
		 "serial0.present = \"TRUE\"\n"
		 "serial0.fileType = \"file\"\n"
		 "serial0.fileName = \"serial.log\"\n"
		 "sched.cpu.shares = \"high\"\n"
		 "sched.cpu.min = \"100\"\n"
		 "sched.cpu.max = \"2000\"\n"
		 "sched.mem.minsize = \"16\"\n"
		 "sched.mem.max = \"unlimited\"\n"
		 "sched.cpu.affinity = \"all\"\n",
		 dir);
	assert_int_equal(config(text, &cfg), 0);
	assert_string_equal(cfg.display_name, "db\"one\"");
	assert_string_equal(cfg.guest_os, "otherlinux-64");
	assert_int_equal(cfg.hw_version, 21);
	assert_int_equal(cfg.memsize_mb, 64);
	assert_int_equal(cfg.numvcpus, 4);
	assert_true(cfg.has_uuid);
	vmx_uuid_format(cfg.uuid_bios, uuid);
	assert_string_equal(uuid, "56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71");

	snprintf(path, sizeof(path), "%s/kernel", dir);
	assert_string_equal(cfg.kernel, path);
	snprintf(path, sizeof(path), "%s/initrd", dir);
	assert_string_equal(cfg.initrd, path);
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	assert_true(cfg.debug_exit);

	/* scsi first, then sata; the host CD drive is left out */
	assert_int_equal(cfg.nr_disks, 3);
	assert_string_equal(cfg.disks[0].node, "scsi0:0");
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	assert_string_equal(cfg.disks[0].path, path);
	assert_false(cfg.disks[0].readonly);
	assert_string_equal(cfg.disks[1].node, "scsi0:1");
	assert_string_equal(cfg.disks[2].node, "sata0:0");
	assert_true(cfg.disks[2].readonly);

	assert_int_equal(cfg.nr_nics, 3);
	assert_int_equal(cfg.nics[0].index, 0);
	assert_string_equal(cfg.nics[0].network_name, "VM Network");
	assert_string_equal(cfg.nics[0].virtual_dev, "vmxnet3");
	assert_int_equal(cfg.nics[0].address_type, VMX_ADDR_GENERATED);
	vmx_mac_format(cfg.nics[0].mac, mac);
	assert_string_equal(mac, "00:0c:29:db:8b:71");
	assert_true(cfg.nics[0].start_connected);
	assert_int_equal(cfg.nics[1].index, 2);
	assert_int_equal(cfg.nics[1].address_type, VMX_ADDR_STATIC);
	vmx_mac_format(cfg.nics[1].mac, mac);
	assert_string_equal(mac, "00:50:56:3f:ff:ff");
	assert_int_equal(cfg.nics[2].index, 4);
	assert_int_equal(cfg.nics[2].address_type, VMX_ADDR_VPX);
	assert_false(cfg.nics[2].start_connected);

	assert_int_equal(cfg.serial_type, VMX_SERIAL_FILE);
	snprintf(path, sizeof(path), "%s/serial.log", dir);
	assert_string_equal(cfg.serial_path, path);

	assert_int_equal(cfg.sched.cpu_shares, 8000);
	assert_int_equal(cfg.sched.cpu_min_mhz, 100);
	assert_int_equal(cfg.sched.cpu_max_mhz, 2000);
	assert_int_equal(cfg.sched.mem_min_mb, 16);
	assert_int_equal(cfg.sched.mem_max_mb, 0);
}

static void test_config_defaults(void **state)
{
	struct vmxfile *f = parse("vmk.kernel = \"kernel\"\n");

	(void)state;
	assert_non_null(f);
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.display_name, strrchr(dir, '/') + 1);
	assert_string_equal(cfg.guest_os, "other");
	assert_int_equal(cfg.memsize_mb, 32);
	assert_int_equal(cfg.numvcpus, 1);
	assert_false(cfg.has_uuid);
	assert_int_equal(cfg.nr_nics, 0);
	assert_int_equal(cfg.nr_disks, 0);
	assert_int_equal(cfg.serial_type, VMX_SERIAL_NONE);
	assert_int_equal(cfg.hw_version, 0);
	assert_string_equal(cfg.initrd, "");
	assert_int_equal(cfg.sched.cpu_shares, 0);

	assert_int_equal(vmx_vm_config_from(f, "relative", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absolute"));
	vmxfile_free(f);
}

static void test_config_machine_errors(void **state)
{
	struct vmxfile *f;

	(void)state;
	/* base sets memsize on line 1: the message names line 1 */
	f = parse("memsize = \"66\"\nvmk.kernel = \"kernel\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "vm.vmx:1: memsize: 66 MB is not a multiple of 4");
	vmxfile_free(f);
	f = parse("memsize = \"0\"\nvmk.kernel = \"kernel\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "vm.vmx:1: memsize: 0 is out of range (4 to 1048576)");
	vmxfile_free(f);
	f = parse("memsize = \"99999999999999999999\"\nvmk.kernel = \"kernel\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "memsize: expected a number"));
	vmxfile_free(f);
	f = parse("memsize = \"-4\"\nvmk.kernel = \"kernel\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "memsize: expected a number from 4"));
	vmxfile_free(f);

	config_fails("numvcpus = \"0\"\n", "vm.vmx:4: numvcpus: 0 is out of range (1 to 64)");
	config_fails("numvcpus = \"65\"\n", "numvcpus: 65 is out of range");
	config_fails("numvcpus = \"two\"\n", "numvcpus: expected a number");
	config_fails("numvcpus = \"\"\n", "numvcpus: expected a number");
	config_fails("virtualHW.version = \"x\"\n", "virtualHW.version: expected a number");
	config_fails("displayName = \"" /* 300 bytes */
		     "0123456789012345678901234567890123456789012345678901234567890123456789"
		     "0123456789012345678901234567890123456789012345678901234567890123456789"
		     "0123456789012345678901234567890123456789012345678901234567890123456789"
		     "0123456789012345678901234567890123456789012345678901234567890123456789"
		     "01234567890123456789\"\n",
		     "vm.vmx:4: displayName: longer than 255 bytes");

	f = parse("uuid.bios = \"56 4d 67 fa b9 f2 da 11 aa 79 47 50 07 db 8b 71\"\n"
		  "vmk.kernel = \"kernel\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vm.vmx:1: uuid.bios: expected 16 hex bytes"));
	vmxfile_free(f);
}

static void test_config_boot_errors(void **state)
{
	struct vmxfile *f = parse("memsize = \"64\"\n");

	(void)state;
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "vm.vmx: vmk.kernel: required (vmx boots a kernel image directly)");
	vmxfile_free(f);
	f = parse("vmk.kernel = \"missing\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vm.vmx:1: vmk.kernel: "));
	assert_non_null(strstr(err, "/missing: No such file or directory"));
	vmxfile_free(f);
	f = parse("vmk.kernel = \"\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "vm.vmx:1: vmk.kernel: empty path");
	vmxfile_free(f);
	f = parse("vmk.kernel = \"/tmp\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "vm.vmx:1: vmk.kernel: /tmp is not a regular file");
	vmxfile_free(f);

	config_fails("vmk.initrd = \"nope.img\"\n", "vm.vmx:4: vmk.initrd: ");
	config_fails("ethernet0.present = \"maybe\"\n", "vm.vmx:4: ethernet0.present: expected TRUE");
	config_fails("serial0.present = \"maybe\"\n", "vm.vmx:4: serial0.present: expected TRUE");
	config_fails("serial0.present = \"TRUE\"\nserial0.startConnected = \"x\"\n",
		     "vm.vmx:5: serial0.startConnected: expected TRUE");
	config_fails("vmk.debugExit = \"maybe\"\n",
		     "vm.vmx:4: vmk.debugExit: expected TRUE or FALSE, not \"maybe\"");
	config_fails("vmk.cmdline = \"a|0Ab\"\n", "vmk.cmdline: control character");
}

static void test_config_disk_errors(void **state)
{
	(void)state;
	config_fails("scsi0:0.present = \"TRUE\"\n",
		     "vm.vmx: scsi0:0.fileName: required when scsi0:0.present is TRUE");
	config_fails("scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"gone.img\"\n",
		     "vm.vmx:5: scsi0:0.fileName: ");
	config_fails("scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"desc.vmdk\"\n",
		     "desc.vmdk is a VMDK; vmk runs raw disk images only");
	config_fails("scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"sparse.vmdk\"\n",
		     "is a VMDK");
	config_fails("scsi0:0.present = \"yes please\"\n", "vm.vmx:4: scsi0:0.present: expected TRUE");
	config_fails("scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"disk.img\"\n"
		     "scsi0:0.mode = \"independent-nonpersistent\"\n",
		     "vm.vmx:6: scsi0:0.mode: mode \"independent-nonpersistent\" is not supported");
	config_fails("scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"disk.img\"\n"
		     "scsi0:0.deviceType = \"tape\"\n",
		     "scsi0:0.deviceType: unsupported device type");
	config_fails("scsi1.present = \"FALSE\"\nscsi1:0.present = \"TRUE\"\n"
		     "scsi1:0.fileName = \"disk.img\"\n",
		     "vm.vmx:4: scsi1.present: scsi1 is not present but scsi1:0 is");
	config_fails("scsi0:7.present = \"TRUE\"\n", "vm.vmx:4: scsi0:7.present: no such scsi device node");
	config_fails("scsi4:0.present = \"TRUE\"\n", "scsi4:0.present: no such scsi device node");
	config_fails("ide0:2.present = \"TRUE\"\n", "ide0:2.present: no such ide device node");

	/* a disconnected CD image need not exist, as VMware files often have */
	assert_int_equal(config("ide1:0.present = \"TRUE\"\nide1:0.deviceType = \"cdrom-image\"\n"
				"ide1:0.fileName = \"gone.iso\"\nide1:0.startConnected = \"FALSE\"\n",
				&cfg), 0);
	assert_int_equal(cfg.nr_disks, 0);
	/* the file present but the disk not: ignored */
	assert_int_equal(config("scsi0:0.present = \"FALSE\"\nscsi0:0.fileName = \"gone.img\"\n",
				&cfg), 0);

	/* 17 disks */
	char text[4096] = "";
	size_t o = 0;
	for (int i = 0; i < 17; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "sata0:%d.present = \"TRUE\"\nsata0:%d.fileName = \"disk.img\"\n", i, i);
	config_fails(text, "sata0:16.present: more than 16 disks");

	/* 16 disks and an adapter: more devices than vmx has slots for */
	o = 0;
	for (int i = 0; i < 16; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "sata0:%d.present = \"TRUE\"\nsata0:%d.fileName = \"disk.img\"\n", i, i);
	snprintf(text + o, sizeof(text) - o, "ethernet0.present = \"TRUE\"\n"
		 "ethernet0.networkName = \"VM Network\"\n");
	config_fails(text, "16 disks and 1 network adapters: vmk serves at most 16 devices");
}

static void test_config_nic_errors(void **state)
{
	(void)state;
	config_fails("ethernet0.present = \"TRUE\"\n",
		     "vm.vmx: ethernet0.networkName: required when ethernet0.present is TRUE");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"\"\n",
		     "vm.vmx:5: ethernet0.networkName: required");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.virtualDev = \"rtl8139\"\n",
		     "vm.vmx:6: ethernet0.virtualDev: unknown adapter type \"rtl8139\"");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.addressType = \"random\"\n",
		     "vm.vmx:6: ethernet0.addressType: expected generated, static or vpx, not \"random\"");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.addressType = \"static\"\n",
		     "vm.vmx: ethernet0.address: required for this addressType");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.addressType = \"static\"\nethernet0.address = \"00:50:56:40:00:00\"\n",
		     "vm.vmx:7: ethernet0.address: a static address must lie in 00:50:56:00:00:00-00:50:56:3f:ff:ff");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.addressType = \"static\"\nethernet0.address = \"00:0c:29:00:00:01\"\n",
		     "a static address must lie in");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.addressType = \"static\"\nethernet0.address = \"00:50:56:00:00\"\n",
		     "ethernet0.address: \"00:50:56:00:00\" is not a MAC address");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.addressType = \"static\"\nethernet0.address = \"01:50:56:00:00:01\"\n"
		     "ethernet0.checkMACAddress = \"FALSE\"\n",
		     "ethernet0.address: 01:50:56:00:00:01 is not a unicast address");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.addressType = \"vpx\"\nethernet0.generatedAddress = \"00:50:56:00:00:01\"\n",
		     "ethernet0.generatedAddress: a vpx address must lie in 00:50:56:80:00:00");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.generatedAddress = \"00:00:00:00:00:00\"\n",
		     "not a unicast address");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.addressType = \"static\"\nethernet0.address = \"00:50:56:00:00:01\"\n"
		     "ethernet1.present = \"TRUE\"\nethernet1.networkName = \"pg\"\n"
		     "ethernet1.addressType = \"static\"\nethernet1.address = \"00:50:56:00:00:01\"\n",
		     "vm.vmx:8: ethernet1.present: MAC 00:50:56:00:00:01 is ethernet0's too");
	config_fails("ethernet10.present = \"TRUE\"\n",
		     "vm.vmx:4: ethernet10.present: vmk supports ethernet0 to ethernet9");
	config_fails("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
		     "ethernet0.generatedAddressOffset = \"x\"\n",
		     "vm.vmx:6: ethernet0.generatedAddressOffset: expected a number");

	/* checkMACAddress FALSE lets a static address out of the range */
	assert_int_equal(config("ethernet0.present = \"TRUE\"\nethernet0.networkName = \"pg\"\n"
				"ethernet0.addressType = \"static\"\nethernet0.address = \"02:00:00:00:00:01\"\n"
				"ethernet0.checkMACAddress = \"false\"\n", &cfg), 0);
	assert_int_equal(cfg.nics[0].mac[0], 0x02);

	/* a generated adapter needs uuid.bios when it has no address yet */
	struct vmxfile *f = parse("vmk.kernel = \"kernel\"\nethernet0.present = \"TRUE\"\n"
				  "ethernet0.networkName = \"pg\"\n");
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ethernet0.generatedAddress: absent, and uuid.bios is absent"));
	vmxfile_free(f);
}

static void test_config_serial_sched_errors(void **state)
{
	char text[512];

	(void)state;
	config_fails("serial0.present = \"TRUE\"\n", "vm.vmx: serial0.fileType: required");
	config_fails("serial0.present = \"TRUE\"\nserial0.fileType = \"device\"\n",
		     "vm.vmx:5: serial0.fileType: expected file or pipe, not \"device\"");
	config_fails("serial0.present = \"TRUE\"\nserial0.fileType = \"file\"\n",
		     "serial0.fileName: required");
	config_fails("serial0.present = \"TRUE\"\nserial0.fileType = \"file\"\n"
		     "serial0.fileName = \"nodir/serial.log\"\n",
		     "vm.vmx:6: serial0.fileName: folder ");
	snprintf(text, sizeof(text),
		 "serial0.present = \"TRUE\"\nserial0.fileType = \"pipe\"\n"
		 "serial0.fileName = \"%0120d\"\n", 0);
	config_fails(text, "serial0.fileName: a pipe's path must be shorter than 108 bytes");
	assert_int_equal(config("serial0.present = \"TRUE\"\nserial0.fileType = \"pipe\"\n"
				"serial0.fileName = \"/tmp/x.sock\"\n", &cfg), 0);
	assert_int_equal(cfg.serial_type, VMX_SERIAL_PIPE);
	assert_string_equal(cfg.serial_path, "/tmp/x.sock");

	config_fails("sched.cpu.shares = \"lots\"\n",
		     "vm.vmx:4: sched.cpu.shares: expected low, normal, high or a number");
	config_fails("sched.cpu.shares = \"0\"\n", "sched.cpu.shares: 0 is out of range (1 to 1000000)");
	config_fails("sched.cpu.min = \"500\"\nsched.cpu.max = \"100\"\n",
		     "vm.vmx:4: sched.cpu.min: reservation 500 MHz is above the limit 100 MHz");
	config_fails("sched.mem.minsize = \"128\"\n", "sched.mem.minsize: 128 is out of range (0 to 64)");
	config_fails("sched.mem.minsize = \"32\"\nsched.mem.max = \"16\"\n",
		     "sched.mem.minsize: reservation 32 MB is above the limit 16 MB");
	config_fails("sched.mem.max = \"x\"\n", "sched.mem.max: expected a number");
	assert_int_equal(config("sched.cpu.shares = \"1234\"\nnumvcpus = \"2\"\n", &cfg), 0);
	assert_int_equal(cfg.sched.cpu_shares, 1234);
	assert_int_equal(config("sched.cpu.shares = \"Normal\"\nnumvcpus = \"2\"\n", &cfg), 0);
	assert_int_equal(cfg.sched.cpu_shares, 2000);
}

/* ---- generation and MAC rules ------------------------------------------ */

static void test_generate(void **state)
{
	static const char text[] = "# keep\nvmk.kernel = \"kernel\"\n"
				   "ethernet0.present = \"TRUE\"\nethernet0.networkName = \"a\"\n"
				   "ethernet1.present = \"TRUE\"\nethernet1.networkName = \"b\"\n"
				   "ethernet2.present = \"TRUE\"\nethernet2.networkName = \"c\"\n"
				   "ethernet2.addressType = \"static\"\nethernet2.address = \"00:50:56:00:00:09\"\n"
				   "ethernet3.present = \"FALSE\"\n";
	struct vmxfile *f = parse(text);
	const char *u;
	uint8_t uuid[16];
	bool changed;
	char want[18], *out;

	(void)state;
	assert_int_equal(vmx_vm_generate(f, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	u = vmxfile_get(f, "uuid.bios");
	assert_non_null(u);
	assert_int_equal(vmx_uuid_parse(u, uuid), 0);
	assert_int_equal(uuid[0], 0x56);
	assert_int_equal(uuid[1], 0x4d);

	uint8_t m[6];
	vmx_mac_generated(uuid, 0, m);
	vmx_mac_format(m, want);
	assert_string_equal(vmxfile_get(f, "ethernet0.generatedAddress"), want);
	assert_string_equal(vmxfile_get(f, "ethernet0.generatedAddressOffset"), "0");
	vmx_mac_generated(uuid, 10, m);
	vmx_mac_format(m, want);
	assert_string_equal(vmxfile_get(f, "ethernet1.generatedAddress"), want);
	assert_string_equal(vmxfile_get(f, "ethernet1.generatedAddressOffset"), "10");
	assert_null(vmxfile_get(f, "ethernet2.generatedAddress"));
	assert_null(vmxfile_get(f, "ethernet3.generatedAddress"));

	/* the original lines untouched, additions at the end */
	out = vmxfile_text(f, NULL);
	assert_memory_equal(out, text, strlen(text));
	free(out);

	/* a second run changes nothing; the config agrees with the file */
	assert_int_equal(vmx_vm_generate(f, &changed, err, sizeof(err)), 0);
	assert_false(changed);
	assert_int_equal(vmx_vm_config_from(f, dir, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_nics, 3);
	assert_memory_equal(cfg.nics[1].mac, m, 6);
	assert_memory_equal(cfg.uuid_bios, uuid, 16);
	vmxfile_free(f);

	/* two generated uuids differ */
	uint8_t a[16], b[16];
	assert_int_equal(vmx_uuid_generate(a), 0);
	assert_int_equal(vmx_uuid_generate(b), 0);
	assert_memory_not_equal(a, b, 16);

	f = parse("uuid.bios = \"bad\"\n");
	assert_int_equal(vmx_vm_generate(f, &changed, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vm.vmx:1: uuid.bios: expected 16 hex bytes"));
	assert_false(changed);
	vmxfile_free(f);
}

static void test_mac_rules(void **state)
{
	uint8_t uuid[16] = { 0x56, 0x4d }, m[6];
	char s[18], u[VMX_UUID_STRLEN];

	(void)state;
	uuid[13] = 0xff, uuid[14] = 0xff, uuid[15] = 0xfa;
	vmx_mac_generated(uuid, 0, m);
	vmx_mac_format(m, s);
	assert_string_equal(s, "00:0c:29:ff:ff:fa");
	vmx_mac_generated(uuid, 10, m); /* wraps inside the 00:0c:29 block */
	vmx_mac_format(m, s);
	assert_string_equal(s, "00:0c:29:00:00:04");
	assert_true(vmx_mac_is_generated_range(m));

	assert_int_equal(vmx_mac_parse("00:50:56:00:00:00", m), 0);
	assert_true(vmx_mac_is_static_range(m));
	assert_int_equal(vmx_mac_parse("00-50-56-3F-FF-FF", m), 0);
	assert_true(vmx_mac_is_static_range(m));
	assert_int_equal(vmx_mac_parse("00:50:56:40:00:00", m), 0);
	assert_false(vmx_mac_is_static_range(m));
	assert_false(vmx_mac_is_vpx_range(m));
	assert_int_equal(vmx_mac_parse("00:50:56:80:00:00", m), 0);
	assert_true(vmx_mac_is_vpx_range(m));
	assert_int_equal(vmx_mac_parse("00:50:56:bf:ff:ff", m), 0);
	assert_true(vmx_mac_is_vpx_range(m));
	assert_int_equal(vmx_mac_parse("00:50:56:c0:00:00", m), 0);
	assert_false(vmx_mac_is_vpx_range(m));
	assert_int_equal(vmx_mac_parse("ff:ff:ff:ff:ff:ff", m), 0);
	assert_false(vmx_mac_is_unicast(m));

	assert_int_equal(vmx_mac_parse("00:50:56:00:00", m), -1);
	assert_int_equal(vmx_mac_parse("00:50:56:00:00:00:00", m), -1);
	assert_int_equal(vmx_mac_parse("00:50-56:00:00:00", m), -1);
	assert_int_equal(vmx_mac_parse("0:50:56:00:00:00", m), -1);
	assert_int_equal(vmx_mac_parse("", m), -1);
	assert_int_equal(vmx_mac_parse("00", m), -1); /* no reading past the end */
	assert_int_equal(vmx_mac_parse("00:50:56:00:00:0", m), -1);
	assert_int_equal(vmx_mac_parse("00 50 56 00 00 00", m), -1);

	assert_int_equal(vmx_uuid_parse("56 4D 67 FA b9 f2 da 11-aa 79 47 50 07 db 8b 71", uuid), 0);
	vmx_uuid_format(uuid, u);
	assert_string_equal(u, "56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71");
	assert_int_equal(vmx_uuid_parse("56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b", uuid), -1);
	assert_int_equal(vmx_uuid_parse("56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71 ", uuid), -1);
	assert_int_equal(vmx_uuid_parse("564d67fab9f2da11aa79475007db8b71", uuid), -1);
}

static void test_parse_bool(void **state)
{
	bool b;

	(void)state;
	assert_int_equal(vmx_parse_bool("TRUE", &b), 0);
	assert_true(b);
	assert_int_equal(vmx_parse_bool("False", &b), 0);
	assert_false(b);
	assert_int_equal(vmx_parse_bool("1", &b), 0);
	assert_true(b);
	assert_int_equal(vmx_parse_bool("no", &b), 0);
	assert_false(b);
	assert_int_equal(vmx_parse_bool("", &b), -1);
	assert_int_equal(vmx_parse_bool("truee", &b), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_verbatim),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_set_refuses),
		cmocka_unit_test(test_save_atomic),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_config_full),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_machine_errors),
		cmocka_unit_test(test_config_boot_errors),
		cmocka_unit_test(test_config_disk_errors),
		cmocka_unit_test(test_config_nic_errors),
		cmocka_unit_test(test_config_serial_sched_errors),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_mac_rules),
		cmocka_unit_test(test_parse_bool),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
