#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/histogram.h"
#include "../../lib/log.h"
#include "stmt.h"
#include "schema.h"

#define STMT_SLOTS 512 /* open addressing; there are far fewer distinct statements */

struct stmt_slot {
	const char *sql;
	sqlite3_stmt *st;
};

#define DEPTH_MAX 8

struct db {
	sqlite3 *h;
	int depth; /* open transaction levels: 1 = BEGIN, more = nested operations */
	int doomed; /* a nested operation failed after writing: the transaction must not commit */
	int64_t marks[DEPTH_MAX]; /* total changes when each nested level began */
	uint64_t began_ns; /* of the outermost transaction */
	struct histogram tx_latency;
	struct stmt_slot slots[STMT_SLOTS];
};

static int
map_rc(sqlite3 *h, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE: return 0;
	case SQLITE_CONSTRAINT: return ERR_CONFLICT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return ERR_BUSY;
	case SQLITE_NOMEM: return ERR_NOMEM;
	default: log_error("sqlite: %s", sqlite3_errmsg(h)); return ERR_DB;
	}
}

int
db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("sqlite: %s", msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (rc & 0xff) == SQLITE_BUSY ? ERR_BUSY : ERR_DB;
	}
	return 0;
}

int
db_open(const char *path, struct db **out)
{
	struct db *db;
	int rv = ERR_DB;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return ERR_NOMEM;
	histogram_init(&db->tx_latency, HISTOGRAM_SECONDS);
	if (sqlite3_open_v2(path, &db->h,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		log_error("cannot open database %s: %s", path,
		    db->h ? sqlite3_errmsg(db->h) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db->h, 2000);
	sqlite3_extended_result_codes(db->h, 1);
	/* synchronous=FULL: a committed change survives power loss, which single-use tokens and
	 * address promises need; callers amortise the fsync by sharing commits (db_begin nests). */
	if (db_exec(db,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		"PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
		"PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
		/* Checkpoints run from the owner's idle timer (db_checkpoint); this threshold
	     * only bounds the WAL under sustained load. Inline checkpoints every 1000 pages
	     * cost a third of the allocation rate. */
		"PRAGMA wal_autocheckpoint=16384;") < 0)
		goto out;
	if (schema_migrate(db->h) < 0)
		goto out;
	*out = db;
	db = NULL;
	rv = 0;
out:
	db_close(db);
	return rv;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < STMT_SLOTS; i++)
		sqlite3_finalize(db->slots[i].st);
	sqlite3_close(db->h);
	free(db);
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	size_t i = ((uintptr_t)sql >> 3) % STMT_SLOTS;
	struct stmt_slot *s;

	for (int n = 0; n < STMT_SLOTS; n++, i = (i + 1) % STMT_SLOTS) {
		s = &db->slots[i];
		if (s->sql == sql) {
			sqlite3_reset(s->st);
			sqlite3_clear_bindings(s->st);
			return s->st;
		}
		if (s->sql == NULL) {
			if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st,
				NULL) != SQLITE_OK)
				fatalx("sqlite: cannot prepare \"%s\": %s", sql,
				    sqlite3_errmsg(db->h));
			s->sql = sql;
			return s->st;
		}
	}
	fatalx("sqlite: statement cache full (%d)", STMT_SLOTS);
}

static int
param(sqlite3_stmt *st, const char *name)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i == 0)
		fatalx("sqlite: no parameter %s in \"%s\"", name, sqlite3_sql(st));
	return i;
}

void
db_bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	sqlite3_bind_int64(st, param(st, name), v);
}

void
db_bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, param(st, name));
	else
		sqlite3_bind_text(st, param(st, name), v, -1, SQLITE_TRANSIENT);
}

void
db_bind_null(sqlite3_stmt *st, const char *name)
{
	sqlite3_bind_null(st, param(st, name));
}

int
db_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int rv = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : map_rc(sqlite3_db_handle(st), rc);

	sqlite3_reset(st);
	return rv;
}

int
db_run_one(struct db *db, sqlite3_stmt *st)
{
	int rv = db_run(st);

	if (rv < 0)
		return rv;
	return sqlite3_changes(db->h) == 1 ? 0 : ERR_NOT_FOUND;
}

int
db_row_one(sqlite3_stmt *st, void (*read)(void *out, sqlite3_stmt *st), void *out)
{
	int rv = db_row(st);

	if (rv <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	read(out, st);
	sqlite3_reset(st);
	return 0;
}

int
db_row(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : map_rc(sqlite3_db_handle(st), rc);
}

void
db_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
}

int64_t
db_col_int(sqlite3_stmt *st, int col)
{
	return sqlite3_column_int64(st, col);
}

const char *
db_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? (const char *)t : "";
}

int
db_col_is_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
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

	if (db->depth > 0) {
		if (db->depth == DEPTH_MAX)
			fatalx("sqlite: transactions nested deeper than %d", DEPTH_MAX);
		db->marks[db->depth++] = sqlite3_total_changes64(db->h);
		return 0;
	}
	db->began_ns = clock_mono_ns();
	if ((rv = db_run(db_stmt(db, "BEGIN IMMEDIATE"))) == 0) {
		db->depth = 1;
		db->doomed = 0;
	}
	return rv;
}

int
db_commit(struct db *db)
{
	int rv;

	if (db->depth > 1) {
		db->depth--;
		return 0;
	}
	if (db->doomed) {
		log_error("sqlite: a nested operation failed half-way; rolling the whole "
			  "transaction back");
		db_rollback(db);
		return ERR_DB;
	}
	if ((rv = db_run(db_stmt(db, "COMMIT"))) < 0) {
		db_rollback(db);
		return rv;
	}
	db->depth = 0;
	tx_done(db);
	return 0;
}

void
db_rollback(struct db *db)
{
	if (db->depth > 1) {
		db->depth--;
		/* Nothing to undo when the nested operation failed before its first write;
		 * otherwise the enclosing transaction cannot commit. */
		if (sqlite3_total_changes64(db->h) != db->marks[db->depth])
			db->doomed = 1;
		return;
	}
	if (!sqlite3_get_autocommit(db->h))
		db_run(db_stmt(db, "ROLLBACK"));
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

int64_t
db_last_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->h);
}

int
db_changes(struct db *db)
{
	return sqlite3_changes(db->h);
}

sqlite3 *
db_handle(struct db *db)
{
	return db->h;
}

int
db_ping(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT 1");
	int rv = db_row(st);

	db_reset(st);
	return rv == 1 ? 0 : ERR_DB;
}

int
db_writable(struct db *db)
{
	int rv;

	if (db->depth > 0)
		return 0;
	if (sqlite3_db_readonly(db->h, "main") == 1)
		return ERR_DB;
	/* Takes the write lock as every change does; not timed as a transaction. */
	if ((rv = db_run(db_stmt(db, "BEGIN IMMEDIATE"))) < 0)
		return rv;
	db_run(db_stmt(db, "ROLLBACK"));
	return 0;
}

const struct histogram *
db_tx_latency(const struct db *db)
{
	return &db->tx_latency;
}

int
db_checkpoint(struct db *db)
{
	int rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	return rc == SQLITE_OK ? 0 : map_rc(db->h, rc);
}

int
db_check(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, "PRAGMA quick_check");
	int rv = db_row(st), ok = rv == 1 && strcmp(db_col_text(st, 0), "ok") == 0;

	if (rv == 1 && !ok)
		log_error("database check: %s", db_col_text(st, 0));
	db_reset(st);
	return ok ? 0 : ERR_DB;
}

int
db_meta_get(struct db *db, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT value FROM meta WHERE key = :key");
	int rv;

	db_bind_text(st, ":key", key);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	snprintf(buf, len, "%s", db_col_text(st, 0));
	db_reset(st);
	return 0;
}

int
db_meta_set(struct db *db, const char *key, const char *value)
{
	sqlite3_stmt *st = db_stmt(db,
	    "INSERT INTO meta (key, value) VALUES (:key, :value) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value");

	db_bind_text(st, ":key", key);
	db_bind_text(st, ":value", value);
	return db_run(st);
}
