/* The SQLite backend's statement API, private to db/: statements are prepared once (cached by
 * their SQL text's address, so pass string literals), bound by :name, stepped, reset. Only
 * db/sqlite/ includes this header (Fossil's db.c style): call sites read like SQL. */
#ifndef DB_SQLITE_STMT_H
#define DB_SQLITE_STMT_H

#include <sqlite3.h>
#include <stdint.h>

#include "../db.h"

/* The cached statement for sql, reset and with bindings cleared. Preparation failure is a
 * programming error: fatal. */
sqlite3_stmt *db_stmt(struct db *db, const char *sql);

void db_bind_int(sqlite3_stmt *st, const char *name, int64_t v);
void db_bind_text(sqlite3_stmt *st, const char *name, const char *v);
void db_bind_null(sqlite3_stmt *st, const char *name);

/* Step a statement that returns no rows and reset it: 0 or ERR_CONFLICT (constraint),
 * ERR_BUSY, ERR_DB. */
int db_run(sqlite3_stmt *st);

/* Run a write that must change exactly one row: 0, ERR_NOT_FOUND when it changed none, or
 * db_run's err. */
int db_run_one(struct db *db, sqlite3_stmt *st);

/* Step once: 1 with a row (call db_reset when done with it), 0 at the end (already reset), or a
 * negative enum err (already reset). */
int db_row(sqlite3_stmt *st);
void db_reset(sqlite3_stmt *st);

/* The one row a query finds, handed to read (with out) and the statement reset: 0,
 * ERR_NOT_FOUND when there is none, or err. */
int db_row_one(sqlite3_stmt *st, void (*read)(void *out, sqlite3_stmt *st), void *out);

int64_t db_col_int(sqlite3_stmt *st, int col);
const char *db_col_text(sqlite3_stmt *st, int col); /* "" for NULL */
int db_col_is_null(sqlite3_stmt *st, int col);

/* Run one or more statements without results (migrations, pragmas); 0 or ERR_DB. */
int db_exec(struct db *db, const char *sql);

int64_t db_last_id(struct db *db);
int db_changes(struct db *db);
sqlite3 *db_handle(struct db *db);

#endif
