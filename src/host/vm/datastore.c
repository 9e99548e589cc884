/*
 * Datastores: where .vmx files and disks live.  On the reference a
 * datastore is a VMFS or NFS volume mounted at /vmfs/volumes/<uuid>; on
 * vmk it is a directory of the Linux file system (table datastore: name,
 * path, uuid).  A new host gets `datastore1` at <state dir>/volumes/
 * datastore1.  A VM can be registered only from inside a datastore, and
 * the inventory shows its file as the reference does: "[datastore1]
 * dir/name.vmx".
 *
 * `esxcli storage filesystem list` shows each one with the type of the
 * Linux file system it lies in (ext4, xfs, tmpfs...), not "VMFS-6": the
 * directory is not a VMFS volume, and saying so would mislead a reader.
 * Size and Free are the bytes of that file system (statvfs).
 *
 * More datastores come from `vim-cmd hostsvc/datastore/localcreate NAME
 * PATH` (an existing directory, which is not inside another datastore
 * nor holds one, so that every VM file belongs to exactly one), and go
 * with `hostsvc/datastore/remove NAME` once no registered VM lives in
 * them (the files stay, as the reference leaves a removed NAS volume's).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "api.h"
#include "store.h"
#include "vm.h"
#include "vmklog.h"

#define DEFAULT_NAME "datastore1"

/* The reference's volume UUID form: 8-8-4-12 hex digits. */
static int make_uuid(char buf[40])
{
	uint8_t r[16];

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -1;
	snprintf(buf, 40, "%02x%02x%02x%02x-%02x%02x%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
		 r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	return 0;
}

static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];

	if (VM_FMT(buf, sizeof(buf), "%s", dir) < 0)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return (mkdir(buf, 0755) < 0 && errno != EEXIST) ? -1 : 0;
}

int datastore_ensure_default(const struct instance *in)
{
	char path[PATH_MAX + 32], uuid[40];

	if (store_int(-1, "SELECT count(*) FROM datastore", "") != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/volumes/%s", in->state_dir, DEFAULT_NAME);
	if (mkdir_p(path) < 0) {
		vmklog_warn("Storage", "cannot create datastore %s at %s: %s", DEFAULT_NAME, path,
			    strerror(errno));
		return -1;
	}
	if (make_uuid(uuid) < 0 ||
	    store_exec("INSERT INTO datastore(name, path, uuid) VALUES (?, ?, ?)", "sss",
		       DEFAULT_NAME, path, uuid) < 0)
		return -1;
	vmklog("Storage", "datastore %s created at %s (uuid %s)", DEFAULT_NAME, path, uuid);
	return 0;
}

long long datastore_of(const char *path, char *name, size_t namelen, char *rel, size_t rellen)
{
	sqlite3_stmt *st = store_stmt("SELECT id, name, path FROM datastore", "");
	long long id = -1;

	while (st && id < 0 && sqlite3_step(st) == SQLITE_ROW) {
		char real[PATH_MAX];
		const char *p = store_col_text(st, 2);
		if (!realpath(p, real))
			continue;
		size_t n = strlen(real);
		if (strncmp(path, real, n) != 0 || path[n] != '/')
			continue;
		id = sqlite3_column_int64(st, 0);
		snprintf(name, namelen, "%s", store_col_text(st, 1));
		snprintf(rel, rellen, "%s", path + n + 1);
	}
	sqlite3_finalize(st);
	return id;
}

void datastore_display_path(const char *path, char *buf, size_t len)
{
	char name[128], rel[PATH_MAX];

	if (datastore_of(path, name, sizeof(name), rel, sizeof(rel)) < 0)
		snprintf(buf, len, "[] %s", path);
	else
		snprintf(buf, len, "[%s] %s", name, rel);
}

/* The Linux name of the file system type, from statfs's magic. */
static const char *fs_type(const char *path)
{
	static const struct { long magic; const char *name; } types[] = {
		{ 0xef53, "ext4" }, { 0x58465342, "xfs" }, { 0x9123683e, "btrfs" },
		{ 0x01021994, "tmpfs" }, { 0x794c7630, "overlay" }, { 0x6969, "nfs" },
		{ 0x2fc12fc1, "zfs" }, { 0x65735546, "fuse" }, { 0xf15f, "ecryptfs" },
	};
	struct statfs s;

	if (statfs(path, &s) < 0)
		return "unknown";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((long)s.f_type == types[i].magic)
			return types[i].name;
	return "other";
}

/* statvfs of a datastore's directory: whether it is there, size, free. */
static bool ds_space(const char *path, json_int_t *size, json_int_t *freeb)
{
	struct statvfs v;

	*size = *freeb = 0;
	if (statvfs(path, &v) < 0)
		return false;
	*size = (json_int_t)v.f_blocks * (json_int_t)v.f_frsize;
	*freeb = (json_int_t)v.f_bavail * (json_int_t)v.f_frsize;
	return true;
}

/* What both listings show of one datastore. */
struct ds_info {
	const char *name, *path, *uuid, *type;
	bool mounted;
	json_int_t size, free;
};

/* A JSON list with row(info) for each datastore, in creation order. */
static json_t *ds_list(json_t *(*row)(const struct ds_info *d))
{
	sqlite3_stmt *st = store_stmt("SELECT name, path, uuid FROM datastore ORDER BY id", "");
	json_t *out = json_array();

	if (!st) {
		json_decref(out);
		return api_store_error();
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ds_info d = { store_col_text(st, 0), store_col_text(st, 1),
				     store_col_text(st, 2), "", false, 0, 0 };
		d.mounted = ds_space(d.path, &d.size, &d.free);
		if (d.mounted)
			d.type = fs_type(d.path);
		json_array_append_new(out, row(&d));
	}
	sqlite3_finalize(st);
	return out;
}

static json_t *filesystem_row(const struct ds_info *d)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:I, s:I}", "MountPoint", d->path,
			 "VolumeName", d->name, "UUID", d->uuid, "Mounted", d->mounted,
			 "Type", d->type, "Size", d->size, "Free", d->free);
}

static json_t *summary_row(const struct ds_info *d)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:b, s:s}", "name", d->name, "url", d->path,
			 "capacity", d->size, "free_space", d->free, "type", d->type,
			 "accessible", d->mounted, "uuid", d->uuid);
}

static json_t *filesystem_list(json_t *params)
{
	(void)params;
	return ds_list(filesystem_row);
}

static json_t *ds_listsummary(json_t *params)
{
	(void)params;
	return ds_list(summary_row);
}

/* Whether one of the two resolved paths is the other or lies inside it. */
static bool nested(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;

	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/') &&
	       (b[n] == '\0' || b[n] == '/');
}

static json_t *ds_check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 42)
		return api_invalid("Invalid name '%s': a datastore name has 1 to 42 characters",
				   name);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || strchr("/[]\\\"", name[i]))
			return api_invalid("Invalid name '%s': no control characters, '/', '[', "
					   "']', '\\' or '\"' in a datastore name", name);
	return json_true();
}

static json_t *ds_localcreate(json_t *params)
{
	const char *name = param_str(params, "name"), *path = param_str(params, "path");
	char real[PATH_MAX], uuid[40];
	struct stat sb;
	json_t *ok = ds_check_name(name);

	if (!ok)
		return NULL;
	json_decref(ok);
	if (path[0] != '/')
		return api_invalid("Invalid path '%s': give the directory's absolute path", path);
	if (!realpath(path, real) || stat(real, &sb) < 0)
		return api_invalid("Invalid path '%s': %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return api_invalid("Invalid path '%s': not a directory", path);
	if (store_int(0, "SELECT count(*) FROM datastore WHERE name = ?", "s", name))
		return api_refused("Cannot create datastore '%s': a datastore of that name exists",
				   name);
	sqlite3_stmt *st = store_stmt("SELECT name, path FROM datastore", "");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char other[PATH_MAX];
		if (realpath(store_col_text(st, 1), other) && nested(real, other)) {
			json_t *r = api_refused("Cannot create datastore '%s': %s overlaps "
						"datastore %s (%s)", name, real,
						store_col_text(st, 0), other);
			sqlite3_finalize(st);
			return r;
		}
	}
	sqlite3_finalize(st);
	if (make_uuid(uuid) < 0 ||
	    store_exec("INSERT INTO datastore(name, path, uuid) VALUES (?, ?, ?)", "sss",
		       name, real, uuid) < 0)
		return api_store_error();
	vmklog("Storage", "datastore %s created at %s (uuid %s)", name, real, uuid);
	return json_true();
}

static json_t *ds_remove(json_t *params)
{
	const char *name = param_str(params, "name");
	long long id = store_int(0, "SELECT id FROM datastore WHERE name = ?", "s", name);
	char vm[256];

	if (!id)
		return api_invalid("Invalid name '%s': no such datastore", name);
	if (store_text(vm, sizeof(vm), "SELECT name FROM vm WHERE datastore = ? ORDER BY vmid",
		       "l", id))
		return api_refused("Cannot remove datastore '%s': virtual machine %s is "
				   "registered on it", name, vm);
	if (store_exec("DELETE FROM datastore WHERE id = ?", "l", id) < 0)
		return api_store_error();
	vmklog("Storage", "datastore %s removed", name);
	return json_true();
}

void datastore_register(void)
{
	static const struct api_method methods[] = {
		{ "storage.filesystem.list", filesystem_list },
		{ 0 }
	};
	static const struct api_method vimcmd_methods[] = {
		{ "hostsvc.datastore.listsummary", ds_listsummary },
		{ "hostsvc.datastore.localcreate", ds_localcreate },
		{ "hostsvc.datastore.remove", ds_remove },
		{ 0 }
	};
	api_register(methods);
	api_register_raw(vimcmd_methods);
}
