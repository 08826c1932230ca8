/* The one wrapper around SQLite: statements are prepared once (cached by their SQL text's
 * address, so pass string literals), bound by :name, stepped, reset. Writes run in
 * BEGIN IMMEDIATE transactions. db_begin() inside an open transaction nests without a
 * savepoint, so several operations share one commit (group commit) at no extra cost; the rule
 * that makes this safe: an operation makes every check before its first write, so a refused
 * operation has nothing to undo. If a nested operation fails after writing (an I/O error),
 * its db_rollback() dooms the enclosing transaction, whose db_commit() then rolls back.
 * Errors are enum err values. */
#ifndef DB_DB_H
#define DB_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* Open (creating if needed) the database at path, set WAL and the pragmas, apply migrations.
 * 0 or ERR_DB with a message logged. */
int db_open(const char *path, struct db **out);
void db_close(struct db *db);

/* The cached statement for sql, reset and with bindings cleared. Preparation failure is a
 * programming error: fatal. */
sqlite3_stmt *db_stmt(struct db *db, const char *sql);

void db_bind_int(sqlite3_stmt *st, const char *name, int64_t v);
void db_bind_text(sqlite3_stmt *st, const char *name, const char *v);
void db_bind_null(sqlite3_stmt *st, const char *name);

/* Step a statement that returns no rows and reset it: 0 or ERR_CONFLICT (constraint),
 * ERR_BUSY, ERR_DB. */
int db_run(sqlite3_stmt *st);

/* Step once: 1 with a row (call db_reset when done with it), 0 at the end (already reset), or a
 * negative enum err (already reset). */
int db_row(sqlite3_stmt *st);
void db_reset(sqlite3_stmt *st);

int64_t db_col_int(sqlite3_stmt *st, int col);
const char *db_col_text(sqlite3_stmt *st, int col); /* "" for NULL */
int db_col_is_null(sqlite3_stmt *st, int col);

/* Transactions. db_begin: BEGIN IMMEDIATE, or one more nesting level inside an open one. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
int db_in_tx(const struct db *db);

/* Run one or more statements without results (migrations, pragmas); 0 or ERR_DB. */
int db_exec(struct db *db, const char *sql);

int64_t db_last_id(struct db *db);
int db_changes(struct db *db);
sqlite3 *db_handle(struct db *db);

/* Whether the store answers a trivial query (health checks). */
int db_ping(struct db *db);

/* Copy committed WAL pages into the database without waiting for readers (PASSIVE): the
 * owner calls it from an idle timer, off the request path. 0 or err. */
int db_checkpoint(struct db *db);

/* PRAGMA quick_check: 0 when the file is sound, ERR_DB otherwise (logged). */
int db_check(struct db *db);

/* Key/value settings in the meta table: 0, ERR_NOT_FOUND or ERR_DB. */
int db_meta_get(struct db *db, const char *key, char *buf, size_t len);
int db_meta_set(struct db *db, const char *key, const char *value);

#endif
