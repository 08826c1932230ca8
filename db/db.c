/* The backend-neutral half of the store: the statement API is dispatched to the driver of the
 * handle, and transaction nesting (group commit) is kept here once for both drivers (db_open,
 * which picks the driver, is db/open.c: the drivers call this file, never the other way). */
#include <stdio.h>
#include <string.h>

#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "driver.h"

void
db_init(struct db *db, const struct db_driver *drv)
{
	db->drv = drv;
	db->depth = 0;
	db->doomed = 0;
	db->batch = 0;
	histogram_init(&db->tx_latency, HISTOGRAM_SECONDS);
}

void
db_close(struct db *db)
{
	if (db != NULL)
		db->drv->close(db);
}

void
db_describe(struct db *db, char *buf, size_t len)
{
	db->drv->describe(db, buf, len);
}

int
db_fd(struct db *db, uint64_t *connection)
{
	uint64_t unused;

	return db->drv->fd(db, connection != NULL ? connection : &unused);
}

int
db_listen(struct db *db, const char *channel)
{
	size_t n = strlen(channel);

	if (n == 0 || n > 63 || strspn(channel, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return ERR_INVALID;
	return db->drv->listen(db, channel);
}

int
db_announcements(struct db *db)
{
	return db->drv->announcements(db);
}

enum db_dialect
db_dialect(const struct db *db)
{
	return db->drv->dialect;
}

struct stmt *
db_stmt(struct db *db, const char *sql)
{
	return db->drv->stmt(db, sql);
}

int
db_serialize(struct db *db, int64_t key)
{
	struct stmt *st;

	if (db->drv->dialect != DB_DIALECT_PG)
		return 0;
	st = db_stmt(db, "SELECT pg_advisory_xact_lock(:key)");
	db_bind_int(st, ":key", key);
	return db_run(st);
}

void
db_bind_int(struct stmt *st, const char *name, int64_t v)
{
	st->db->drv->bind_int(st, name, v);
}

void
db_bind_text(struct stmt *st, const char *name, const char *v)
{
	st->db->drv->bind_text(st, name, v);
}

void
db_bind_null(struct stmt *st, const char *name)
{
	st->db->drv->bind_text(st, name, NULL);
}

int
db_run(struct stmt *st)
{
	/* The driver's own step: the one call a batch allows (db_row checks for the others). */
	int rv = st->db->drv->row(st);

	if (rv == 1) {
		db_reset(st);
		rv = 0;
	}
	if (rv < 0 && st->db->batch && st->db->batch_err == 0)
		st->db->batch_err = rv;
	return rv;
}

int
db_run_one(struct db *db, struct stmt *st)
{
	int rv = db_run(st);

	if (rv < 0)
		return rv;
	return db_changes(db) == 1 ? 0 : ERR_NOT_FOUND;
}

int
db_insert_id(struct stmt *st, int64_t *id)
{
	int rv = db_row(st);

	if (rv == 0)
		return ERR_DB; /* RETURNING gives a row for every row inserted */
	if (rv < 0)
		return rv;
	*id = db_col_int(st, 0);
	db_reset(st);
	return 0;
}

/* A batch's statements may not have been answered yet: what needs their answer is refused. */
static void
not_in_batch(const struct db *db, const char *what)
{
	if (db->batch)
		fatalx("store: %s inside a batch of writes", what);
}

int
db_row(struct stmt *st)
{
	not_in_batch(st->db, "a statement read for its rows");
	return st->db->drv->row(st);
}

void
db_batch_begin(struct db *db)
{
	if (db->depth == 0)
		fatalx("store: a batch of writes outside a transaction");
	not_in_batch(db, "a batch");
	db->batch = 1;
	db->batch_err = 0;
	if (db->drv->batch_begin != NULL)
		db->drv->batch_begin(db);
}

int
db_batch_end(struct db *db)
{
	int rv;

	if (!db->batch)
		fatalx("store: the end of a batch of writes that did not begin");
	db->batch = 0;
	/* A failure the driver saw only when it read the answers, or one db_run returned. */
	rv = db->drv->batch_end != NULL ? db->drv->batch_end(db) : 0;
	return db->batch_err < 0 ? db->batch_err : rv;
}

void
db_reset(struct stmt *st)
{
	st->db->drv->reset(st);
}

int
db_row_one(struct stmt *st, void (*read)(void *out, struct stmt *st), void *out)
{
	int rv = db_row(st);

	if (rv <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	read(out, st);
	db_reset(st);
	return 0;
}

int64_t
db_col_int(struct stmt *st, int col)
{
	return st->db->drv->col_int(st, col);
}

const char *
db_col_text(struct stmt *st, int col)
{
	return st->db->drv->col_text(st, col);
}

int
db_col_is_null(struct stmt *st, int col)
{
	return st->db->drv->col_is_null(st, col);
}

int
db_exec(struct db *db, const char *sql)
{
	not_in_batch(db, "a statement run as text");
	return db->drv->exec(db, sql);
}

int
db_changes(struct db *db)
{
	not_in_batch(db, "counting changed rows");
	return db->drv->changes(db);
}

int64_t
db_total_changes(struct db *db)
{
	return db->drv->total_changes(db);
}

/* The outermost transaction ended: how long it took, BEGIN to the end of COMMIT or ROLLBACK. */
static void
tx_done(struct db *db)
{
	histogram_observe(&db->tx_latency, (double)(clock_mono_ns() - db->began_ns) / 1e9);
}

int
db_begin(struct db *db)
{
	int rv;

	not_in_batch(db, "a transaction");
	if (db->depth > 0) {
		if (db->depth == DB_DEPTH_MAX)
			fatalx("store: transactions nested deeper than %d", DB_DEPTH_MAX);
		if ((rv = db->drv->level_begin(db, db->depth + 1)) < 0)
			return rv;
		db->depth++;
		return 0;
	}
	db->began_ns = clock_mono_ns();
	if ((rv = db->drv->tx_begin(db)) == 0) {
		db->depth = 1;
		db->doomed = 0;
	}
	return rv;
}

int
db_commit(struct db *db)
{
	int rv;

	not_in_batch(db, "a commit");
	if (db->depth > 1) {
		/* A level that fails to commit is undone by the driver (or the whole
		 * transaction is lost, which its commit reports). */
		rv = db->drv->level_commit(db, db->depth);
		db->depth--;
		return rv;
	}
	if (db->doomed) {
		log_error("store: a nested operation failed half-way; rolling the whole "
			  "transaction back");
		db_rollback(db);
		return ERR_DB;
	}
	rv = db->drv->tx_commit(db);
	db->depth = 0;
	db->doomed = 0;
	tx_done(db);
	return rv;
}

void
db_rollback(struct db *db)
{
	not_in_batch(db, "a rollback");
	if (db->depth > 1) {
		if (db->drv->level_rollback(db, db->depth) != 0)
			db->doomed = 1;
		db->depth--;
		return;
	}
	db->drv->tx_rollback(db);
	if (db->depth > 0)
		tx_done(db);
	db->depth = 0;
	db->doomed = 0;
}

int
db_in_tx(const struct db *db)
{
	return db->depth > 0;
}

int
db_ping(struct db *db)
{
	return db->drv->ping(db);
}

int
db_shared(const struct db *db)
{
	return db->drv->dialect == DB_DIALECT_PG;
}

int
db_jobs_lease(struct db *db)
{
	if (db->depth > 0)
		fatalx("store: the jobs lease is asked for inside a transaction");
	return db->drv->jobs_lease(db);
}

int
db_writable(struct db *db)
{
	if (db->depth > 0)
		return 0;
	return db->drv->writable(db);
}

const struct histogram *
db_tx_latency(const struct db *db)
{
	return &db->tx_latency;
}

int
db_checkpoint(struct db *db)
{
	return db->drv->checkpoint(db);
}

int
db_check(struct db *db)
{
	return db->drv->check(db);
}
