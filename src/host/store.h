/*
 * The store: vmkd's configuration in SQLite (docs/vmkd.md, "Store").
 *
 * One database per instance, in WAL mode with synchronous=FULL: a change
 * is on disk when its COMMIT returns, and vmkd replies only after that,
 * so a kill -9 at any moment loses nothing a client was told succeeded.
 * Every API request runs in one transaction (api.c): it validates, then
 * writes, then commits or rolls back as a whole.
 *
 * The schema carries its version in PRAGMA user_version.  An empty
 * database is a first start: the schema and the defaults of a new host
 * (defaults.c) are created in one transaction.  A store written by a
 * newer vmkd is refused; an older one is migrated on open, in one
 * transaction.
 *
 * Queries bind their arguments from a format string: 's' a string (NULL
 * binds NULL), 'd' an int, 'l' a long long.
 */
#ifndef VMKD_STORE_H
#define VMKD_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#define STORE_SCHEMA_VERSION 4

/* Opens (creating) the database.  *empty tells a first start (the schema
 * is then not created yet: see store_create_schema).  0, or -1 with a
 * message in err. */
int store_open(const char *path, bool *empty, char *err, size_t errlen);
void store_close(void);
/* Creates the tables of the current version; inside a transaction. */
int store_create_schema(void);

int store_begin(void);
int store_commit(void);
void store_rollback(void);
bool store_in_transaction(void);

/* A prepared statement with its arguments bound, or NULL (see
 * store_errmsg).  The caller steps it and sqlite3_finalize()s it. */
sqlite3_stmt *store_stmt(const char *sql, const char *fmt, ...);
/* A prepared statement without arguments (bind them with sqlite3_bind_*). */
sqlite3_stmt *store_prepare(const char *sql);
/* Runs a statement that returns no rows.  0, or -1. */
int store_exec(const char *sql, const char *fmt, ...);
/* The first column of the first row as an integer, or def. */
long long store_int(long long def, const char *sql, const char *fmt, ...);
/* The first column of the first row as text into buf; false if no row. */
bool store_text(char *buf, size_t len, const char *sql, const char *fmt, ...);
const char *store_errmsg(void);

/* Text of column i of a stepped statement, never NULL. */
const char *store_col_text(sqlite3_stmt *st, int i);

#endif
