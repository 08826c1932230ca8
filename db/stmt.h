/* The statement API of the store, private to db/: the record modules (db/sql/) are written
 * against it once and run on every driver (db/driver.h: SQLite, PostgreSQL). Statements are
 * prepared once per connection (cached by their SQL text's address, so pass string literals),
 * bound by :name, stepped, reset: call sites read like SQL (Fossil's db.c style).
 *
 * The SQL is the common part of both dialects. Where they differ the record module picks a
 * string by db_dialect() and says why beside it; the PostgreSQL driver also drops nothing and
 * the SQLite driver drops " FOR UPDATE" (SQLite serialises writers with BEGIN IMMEDIATE). A
 * parameter takes the type of its first binding (int8 or text); a boolean expression is read
 * with db_col_int as 0 or 1 on both. */
#ifndef DB_STMT_H
#define DB_STMT_H

#include <stdint.h>

#include "db.h"

struct stmt;

enum db_dialect {
	DB_DIALECT_SQLITE,
	DB_DIALECT_PG,
};

/* The cached statement for sql, reset and with bindings cleared. A statement that does not
 * prepare is a programming error: fatal. On a store that is down (PostgreSQL) the statement
 * is still returned; running it fails with ERR_BUSY. */
struct stmt *db_stmt(struct db *db, const char *sql);

/* Bindings; an unbound parameter is NULL. db_bind_text(st, name, NULL) binds NULL. */
void db_bind_int(struct stmt *st, const char *name, int64_t v);
void db_bind_text(struct stmt *st, const char *name, const char *v);
void db_bind_null(struct stmt *st, const char *name);

/* Run a statement for its effect (rows it returns are dropped) and reset it: 0 or
 * ERR_CONFLICT (constraint), ERR_BUSY (locked, deadlock, connection lost), ERR_DB. */
int db_run(struct stmt *st);

/* Run a write that must change exactly one row: 0, ERR_NOT_FOUND when it changed none, or
 * db_run's err. */
int db_run_one(struct db *db, struct stmt *st);

/* Run an INSERT ... RETURNING id (the one way both drivers report a new row's id): 0 with
 * *id, or db_run's err. */
int db_insert_id(struct stmt *st, int64_t *id);

/* Step once: 1 with a row (call db_reset when done with it), 0 at the end (already reset), or a
 * negative enum err (already reset). */
int db_row(struct stmt *st);
void db_reset(struct stmt *st);

/* The one row a query finds, handed to read (with out) and the statement reset: 0,
 * ERR_NOT_FOUND when there is none, or err. */
int db_row_one(struct stmt *st, void (*read)(void *out, struct stmt *st), void *out);

/* Columns of the current row; NULL reads as 0 and "". */
int64_t db_col_int(struct stmt *st, int col);
const char *db_col_text(struct stmt *st, int col);
int db_col_is_null(struct stmt *st, int col);

/* A batch of writes whose answers are not needed one by one, inside an open transaction:
 * between db_batch_begin and db_batch_end only db_run is called (no rows read, no db_changes,
 * no transaction begun or ended: a programming error, fatal). A driver may send the batch's
 * statements without waiting for each answer: PostgreSQL pipelines them (a round trip per
 * DB_BATCH_WINDOW statements instead of one each); SQLite, in-process, runs each at once. db_run
 * then returns 0 or an earlier failure of the transaction, and db_batch_end the first failure
 * of the batch (the transaction is then failed, as after any failed statement): 0 or db_run's
 * err. */
#define DB_BATCH_WINDOW \
	1024 /* statements sent before their answers are read; their answers
				(some 30 bytes each) stay far below a socket's buffer */
void db_batch_begin(struct db *db);
int db_batch_end(struct db *db);

/* Run one or more statements without parameters or results; 0 or err. */
int db_exec(struct db *db, const char *sql);

/* Rows the last statement changed. */
int db_changes(struct db *db);

/* Rows this handle has changed since it opened, in any table: moves with every write. */
int64_t db_total_changes(struct db *db);

enum db_dialect db_dialect(const struct db *db);

/* Serialise the writers of one thing across managers: until the open transaction ends, no
 * other transaction passes this call with the same key (a fixed, unlikely value: PostgreSQL's
 * advisory locks share one key space per database). On PostgreSQL it is an advisory
 * transaction lock; the transaction's later statements see what the one before it committed
 * (READ COMMITTED takes a snapshot per statement). SQLite serialises its writers already
 * (BEGIN IMMEDIATE): nothing to do. 0 or err. */
int db_serialize(struct db *db, int64_t key);

#endif
