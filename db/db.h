/* The store: the one place that holds snaptun's records and every query on them. This header is
 * the backend-neutral part every caller sees — opening, transactions, health, settings; the
 * record modules (db/<record>.h) declare the named queries, implemented once in db/sql/ over
 * the statement API (db/stmt.h, private to db/). Two drivers run that SQL: SQLite (db/sqlite/,
 * the embedded default) and PostgreSQL (db/pg/, several managers on one database); db_open
 * picks one by the store's name.
 *
 * Writes run in transactions. db_begin() inside an open transaction nests, so several
 * operations share one commit (group commit). On SQLite a level costs nothing: an operation
 * makes every check before its first write, so a refused operation has nothing to undo, and if
 * a nested operation fails after writing (an I/O error) its db_rollback() dooms the enclosing
 * transaction, whose db_commit() then rolls back. On PostgreSQL a failed statement aborts the
 * whole transaction, so each level is a savepoint and db_rollback() undoes just that level.
 * Errors are enum err values; ERR_BUSY (locked, deadlock, serialisation failure, connection
 * lost) means nothing of the transaction was kept and the caller may try again. */
#ifndef DB_DB_H
#define DB_DB_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct histogram;

/* Open the store named by spec and apply migrations: "postgresql://..." or "postgres://..."
 * (a libpq URI), a libpq "key=value ..." string (it starts with a word and '='), "sqlite:PATH",
 * or else a path of an SQLite file (created if needed, WAL). 0 or ERR_DB with a message logged
 * (never the connection string's password). */
int db_open(const char *spec, struct db **out);
void db_close(struct db *db);

/* The store in words for logs and /v1/health: "sqlite:PATH" or "postgresql://user@host:port/db"
 * (no password). */
void db_describe(struct db *db, char *buf, size_t len);

/* The descriptor of the store's connection (PostgreSQL: its socket, for an event loop that waits
 * on announcements), or -1 when there is none (SQLite, or not connected). *connection (may be
 * NULL) gets a number that changes with every new connection: a reconnect may reuse the number
 * of the descriptor it closed, so a watcher compares both. */
int db_fd(struct db *db, uint64_t *connection);

/* Announcements between the managers of one store: PostgreSQL's LISTEN/NOTIFY. SQLite has one
 * manager and no announcements: both calls do nothing there.
 *
 * db_listen: hear the announcements on channel (lower-case letters, digits and '_', at most 63)
 * on this connection and on every later one (the driver listens again after a reconnect; what
 * was announced in between is lost, so a listener also looks by itself now and then). At most
 * DB_LISTEN_MAX channels. 0, ERR_INVALID for a bad name or one too many, or err (a store that
 * is down is no error: the next connection listens).
 *
 * db_announcements: what arrived on the connection since the last call, read without waiting:
 * the number of announcements (0: none), or ERR_BUSY when the connection is gone. No
 * transaction may be open. */
#define DB_LISTEN_MAX 4
int db_listen(struct db *db, const char *channel);
int db_announcements(struct db *db);

/* Transactions. db_begin: BEGIN (IMMEDIATE on SQLite), or one more nesting level inside an open
 * one. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
int db_in_tx(const struct db *db);

/* Whether the store answers a trivial query (health checks). On PostgreSQL a lost connection
 * is tried again here (bounded by its connect timeout). */
int db_ping(struct db *db);

/* 1 when other managers may share this store (PostgreSQL), 0 when it is this manager's alone
 * (SQLite: one manager per file). What only the other managers would read is written only on
 * a shared store. */
int db_shared(const struct db *db);

/* The jobs lease: which of the managers sharing a store runs its background jobs (sweeps,
 * expiry, pruning). Tries to take the lease, or confirms it is still held; the caller calls it
 * before every round of jobs and runs them only on 1. On SQLite this handle always holds it
 * (one manager per file). On PostgreSQL it is a session-level advisory lock on the store's
 * connection: at most one connection holds it, and it is lost with the connection (the
 * manager died, or the connection dropped: the server releases it), so another manager's next
 * call takes it over. No transaction may be open. 1 held, 0 held by another manager, or
 * ERR_BUSY when the store cannot be reached (not held then either). */
int db_jobs_lease(struct db *db);

/* Whether the store can take a write now: inside a transaction it can (it holds the write
 * lock); else a write transaction is begun and rolled back (nothing is written, no fsync). 0,
 * ERR_BUSY (another writer holds the lock; PostgreSQL: not connected) or ERR_DB (read-only, or
 * the file failed; PostgreSQL: a standby or a read-only transaction default). */
int db_writable(struct db *db);

/* How long the store's transactions took, from BEGIN to the end of COMMIT or ROLLBACK (the
 * outermost level: a group commit is one), in seconds. Valid while db is open. */
const struct histogram *db_tx_latency(const struct db *db);

/* Copy committed WAL pages into the database without waiting for readers (PASSIVE): the
 * owner calls it from an idle timer, off the request path. PostgreSQL checkpoints by itself:
 * nothing to do there. 0 or err. */
int db_checkpoint(struct db *db);

/* SQLite: PRAGMA quick_check; PostgreSQL: the schema is this program's. 0 when sound, ERR_DB
 * otherwise (logged). */
int db_check(struct db *db);

/* Key/value settings in the meta table: 0, ERR_NOT_FOUND or ERR_DB. */
int db_meta_get(struct db *db, const char *key, char *buf, size_t len);
int db_meta_set(struct db *db, const char *key, const char *value);

#endif
