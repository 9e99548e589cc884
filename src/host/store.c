/*
 * SQLite store.  The schema below is version 1; each table is one kind
 * of object of the host, named by a unique name and referenced by id, so
 * that deleting something still in use fails in the database as well as
 * in the handler (foreign keys are on).
 *
 * Policy columns of a vSwitch hold its values (NOT NULL, the reference's
 * defaults as column defaults); the same columns of a port group are
 * NULL when the setting is inherited from the vSwitch and hold the
 * override otherwise.  Teaming uplink lists are comma-joined vmnic names;
 * a port group overrides its uplink order when team_active is not NULL.
 *
 * Versions: a new store gets schema 1 and then every migration, in one
 * transaction, exactly as an old store is brought up to date, so there
 * is one path to the current schema.  Migration 1 -> 2 adds the TCP/IP
 * stacks' settings, the adapters' IPv6 settings and addresses, and the
 * static routes of each stack; 2 -> 3 the datastores, the VM inventory,
 * the running VMs (re-adopted at start) and external VM ports; 3 -> 4 the
 * DNS servers and search domains of each stack (net/dns.c).
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static sqlite3 *db;

static const char schema[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE netstack(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE vswitch("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" ports INTEGER NOT NULL DEFAULT 128, mtu INTEGER NOT NULL DEFAULT 1500,"
	" cdp TEXT NOT NULL DEFAULT 'listen',"
	" sec_promisc INTEGER NOT NULL DEFAULT 0, sec_mac_change INTEGER NOT NULL DEFAULT 1,"
	" sec_forged INTEGER NOT NULL DEFAULT 1,"
	" shape_enabled INTEGER NOT NULL DEFAULT 0, shape_avg INTEGER NOT NULL DEFAULT 100000,"
	" shape_peak INTEGER NOT NULL DEFAULT 100000,"
	" shape_burst INTEGER NOT NULL DEFAULT 102400,"
	" team_lb TEXT NOT NULL DEFAULT 'srcport', team_detect TEXT NOT NULL DEFAULT 'link',"
	" team_notify INTEGER NOT NULL DEFAULT 1, team_failback INTEGER NOT NULL DEFAULT 1,"
	" team_active TEXT NOT NULL DEFAULT '', team_standby TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE uplink(id INTEGER PRIMARY KEY, nic TEXT NOT NULL UNIQUE,"
	" vswitch INTEGER NOT NULL REFERENCES vswitch(id) ON DELETE CASCADE);"
	"CREATE INDEX uplink_vswitch ON uplink(vswitch);"
	"CREATE TABLE portgroup("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" vswitch INTEGER NOT NULL REFERENCES vswitch(id) ON DELETE CASCADE,"
	" vlan INTEGER NOT NULL DEFAULT 0,"
	" sec_promisc INTEGER, sec_mac_change INTEGER, sec_forged INTEGER,"
	" shape_enabled INTEGER, shape_avg INTEGER, shape_peak INTEGER, shape_burst INTEGER,"
	" team_lb TEXT, team_detect TEXT, team_notify INTEGER, team_failback INTEGER,"
	" team_active TEXT, team_standby TEXT);"
	"CREATE INDEX portgroup_vswitch ON portgroup(vswitch);"
	"CREATE TABLE nic(name TEXT PRIMARY KEY, linux_name TEXT NOT NULL UNIQUE) WITHOUT ROWID;"
	"CREATE TABLE vmknic("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" portgroup INTEGER NOT NULL REFERENCES portgroup(id),"
	" netstack INTEGER NOT NULL REFERENCES netstack(id),"
	" mac TEXT NOT NULL UNIQUE, mtu INTEGER NOT NULL DEFAULT 1500,"
	" enabled INTEGER NOT NULL DEFAULT 1,"
	" ipv4_type TEXT NOT NULL DEFAULT 'NONE', ipv4_address TEXT NOT NULL DEFAULT '',"
	" ipv4_netmask TEXT NOT NULL DEFAULT '', ipv4_gateway TEXT NOT NULL DEFAULT '',"
	" tags TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX vmknic_portgroup ON vmknic(portgroup);"
	"PRAGMA user_version = 1;";

/* Schema 1 -> 2: stacks' settings, IPv6 of adapters, routes. */
static const char migrate_2[] =
	"ALTER TABLE netstack ADD COLUMN maxconn INTEGER NOT NULL DEFAULT 11000;"
	"ALTER TABLE netstack ADD COLUMN ccalgo TEXT NOT NULL DEFAULT 'newreno';"
	"ALTER TABLE netstack ADD COLUMN ipv6 INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE vmknic ADD COLUMN ipv4_peer_dns INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vmknic ADD COLUMN ipv6_dhcp INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vmknic ADD COLUMN ipv6_ra INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vmknic ADD COLUMN ipv6_peer_dns INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX vmknic_netstack ON vmknic(netstack);"
	"CREATE TABLE vmknic_ipv6(id INTEGER PRIMARY KEY,"
	" vmknic INTEGER NOT NULL REFERENCES vmknic(id) ON DELETE CASCADE,"
	" address TEXT NOT NULL, prefix INTEGER NOT NULL, UNIQUE(vmknic, address));"
	"CREATE TABLE route(id INTEGER PRIMARY KEY,"
	" netstack INTEGER NOT NULL REFERENCES netstack(id) ON DELETE CASCADE,"
	" network TEXT NOT NULL, prefix INTEGER NOT NULL, gateway TEXT NOT NULL,"
	" UNIQUE(netstack, network, prefix));"
	"PRAGMA user_version = 2;";

/* Schema 2 -> 3: datastores, the VM inventory, running VMs (docs/vms.md).
 * vmids are never reused (AUTOINCREMENT), as the reference's keep growing;
 * a runtime row goes with its VM; a VM keeps its datastore, and an
 * external VM port its port group (no cascade: both are in use). */
static const char migrate_3[] =
	"CREATE TABLE datastore(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" path TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE);"
	"CREATE TABLE vm(vmid INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,"
	" datastore INTEGER NOT NULL REFERENCES datastore(id), name TEXT NOT NULL);"
	"CREATE INDEX vm_datastore ON vm(datastore);"
	"CREATE TABLE vm_runtime(vmid INTEGER PRIMARY KEY REFERENCES vm(vmid) ON DELETE CASCADE,"
	" pid INTEGER NOT NULL, start_time INTEGER NOT NULL, world_id INTEGER NOT NULL,"
	" control_path TEXT NOT NULL, state TEXT NOT NULL);"
	"CREATE TABLE vm_port(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" portgroup INTEGER NOT NULL REFERENCES portgroup(id), socket TEXT NOT NULL,"
	" mac TEXT NOT NULL);"
	"CREATE INDEX vm_port_portgroup ON vm_port(portgroup);"
	"PRAGMA user_version = 3;";

/* Schema 3 -> 4: DNS per stack (docs/vmkd.md, "DNS").  The id keeps the
 * order the user gave (resolv.conf tries servers in that order); both go
 * with their stack. */
static const char migrate_4[] =
	"CREATE TABLE dns_server(id INTEGER PRIMARY KEY,"
	" netstack INTEGER NOT NULL REFERENCES netstack(id) ON DELETE CASCADE,"
	" address TEXT NOT NULL, UNIQUE(netstack, address));"
	"CREATE TABLE dns_search(id INTEGER PRIMARY KEY,"
	" netstack INTEGER NOT NULL REFERENCES netstack(id) ON DELETE CASCADE,"
	" domain TEXT NOT NULL, UNIQUE(netstack, domain));"
	"PRAGMA user_version = 4;";

/* migrations[v] brings a store of version v to v + 1. */
static const char *const migrations[STORE_SCHEMA_VERSION] = { NULL, migrate_2, migrate_3,
							       migrate_4 };

const char *store_errmsg(void)
{
	return db ? sqlite3_errmsg(db) : "store not open";
}

static int exec_plain(const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int check_version(bool *empty, char *err, size_t errlen)
{
	long long v = store_int(-1, "PRAGMA user_version", "");
	long long tables = store_int(-1, "SELECT count(*) FROM sqlite_schema", "");

	if (v < 0 || tables < 0) {
		snprintf(err, errlen, "cannot read the store: %s", store_errmsg());
		return -1;
	}
	*empty = (v == 0 && tables == 0);
	if (*empty || (v >= 1 && v <= STORE_SCHEMA_VERSION))
		return 0;
	snprintf(err, errlen, "store schema version %lld is not %d, the version of this vmkd",
		 v, STORE_SCHEMA_VERSION);
	return -1;
}

/* Runs the migrations from version `from` on, inside a transaction. */
static int migrate_from(long long from)
{
	for (long long v = from; v < STORE_SCHEMA_VERSION; v++)
		if (exec_plain(migrations[v]) < 0)
			return -1;
	return 0;
}

/* Brings an older store up to date in one transaction. */
static int upgrade(const char *path, char *err, size_t errlen)
{
	long long v = store_int(-1, "PRAGMA user_version", "");

	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (exec_plain("BEGIN IMMEDIATE") < 0 || migrate_from(v) < 0 || exec_plain("COMMIT") < 0) {
		snprintf(err, errlen, "cannot upgrade store %s from schema version %lld: %s", path,
			 v, store_errmsg());
		exec_plain("ROLLBACK");
		return -1;
	}
	return 0;
}

int store_open(const char *path, bool *empty, char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open store %s: %s", path, store_errmsg());
		store_close();
		return -1;
	}
	char mode[16] = "";
	if (!store_text(mode, sizeof(mode), "PRAGMA journal_mode=WAL", "") ||
	    strcmp(mode, "wal") != 0 ||
	    exec_plain("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;") < 0) {
		snprintf(err, errlen, "cannot set up store %s: %s", path, store_errmsg());
		store_close();
		return -1;
	}
	if (check_version(empty, err, errlen) < 0 || (!*empty && upgrade(path, err, errlen) < 0)) {
		store_close();
		return -1;
	}
	return 0;
}

void store_close(void)
{
	if (db)
		sqlite3_close_v2(db);
	db = NULL;
}

int store_create_schema(void)
{
	return exec_plain(schema) < 0 ? -1 : migrate_from(1);
}

int store_begin(void)
{
	return exec_plain("BEGIN IMMEDIATE");
}

int store_commit(void)
{
	return exec_plain("COMMIT");
}

void store_rollback(void)
{
	if (store_in_transaction())
		exec_plain("ROLLBACK");
}

bool store_in_transaction(void)
{
	return db && !sqlite3_get_autocommit(db);
}

static sqlite3_stmt *vstmt(const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	for (int i = 1; *fmt; fmt++, i++) {
		const char *s;
		switch (*fmt) {
		case 's':
			s = va_arg(ap, const char *);
			if (s)
				sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i);
			break;
		case 'd':
			sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		case 'l':
			sqlite3_bind_int64(st, i, va_arg(ap, long long));
			break;
		}
	}
	return st;
}

sqlite3_stmt *store_prepare(const char *sql)
{
	sqlite3_stmt *st;

	return sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK ? st : NULL;
}

sqlite3_stmt *store_stmt(const char *sql, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sqlite3_stmt *st = vstmt(sql, fmt, ap);
	va_end(ap);
	return st;
}

int store_exec(const char *sql, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sqlite3_stmt *st = vstmt(sql, fmt, ap);
	va_end(ap);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : -1;
}

long long store_int(long long def, const char *sql, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sqlite3_stmt *st = vstmt(sql, fmt, ap);
	va_end(ap);
	if (!st)
		return def;
	long long v = def;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

bool store_text(char *buf, size_t len, const char *sql, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sqlite3_stmt *st = vstmt(sql, fmt, ap);
	va_end(ap);
	if (!st)
		return false;
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		snprintf(buf, len, "%s", store_col_text(st, 0));
	sqlite3_finalize(st);
	return found;
}

const char *store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}
