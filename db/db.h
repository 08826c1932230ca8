/* The store: the one place that holds snaptun's records and every query on them. This header is
 * the backend-neutral part every caller sees — opening, transactions, health, settings; the
 * record modules (db/<record>.h) declare the named queries. The SQLite implementation lives in
 * db/sqlite/ (its statement API, db/sqlite/stmt.h, is private to db/). A second backend is a
 * second implementation of these headers.
 *
 * Writes run in transactions. db_begin() inside an open transaction nests without a savepoint,
 * so several operations share one commit (group commit) at no extra cost; the rule that makes
 * this safe: an operation makes every check before its first write, so a refused operation has
 * nothing to undo. If a nested operation fails after writing (an I/O error), its db_rollback()
 * dooms the enclosing transaction, whose db_commit() then rolls back. Errors are enum err
 * values. */
#ifndef DB_DB_H
#define DB_DB_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct histogram;

/* Open (creating if needed) the database at path, set WAL and the pragmas, apply migrations.
 * 0 or ERR_DB with a message logged. */
int db_open(const char *path, struct db **out);
void db_close(struct db *db);

/* Transactions. db_begin: BEGIN IMMEDIATE, or one more nesting level inside an open one. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
int db_in_tx(const struct db *db);

/* Whether the store answers a trivial query (health checks). */
int db_ping(struct db *db);

/* Whether the store can take a write now: inside a transaction it can (it holds the write
 * lock); else a write transaction is begun and rolled back (nothing is written, no fsync). 0,
 * ERR_BUSY (another writer holds the lock) or ERR_DB (read-only, or the file failed). */
int db_writable(struct db *db);

/* How long the store's transactions took, from BEGIN to the end of COMMIT or ROLLBACK (the
 * outermost level: a group commit is one), in seconds. Valid while db is open. */
const struct histogram *db_tx_latency(const struct db *db);

/* Copy committed WAL pages into the database without waiting for readers (PASSIVE): the
 * owner calls it from an idle timer, off the request path. 0 or err. */
int db_checkpoint(struct db *db);

/* PRAGMA quick_check: 0 when the file is sound, ERR_DB otherwise (logged). */
int db_check(struct db *db);

/* Key/value settings in the meta table: 0, ERR_NOT_FOUND or ERR_DB. */
int db_meta_get(struct db *db, const char *key, char *buf, size_t len);
int db_meta_set(struct db *db, const char *key, const char *value);

#endif
