/* The SQLite driver (db/driver.h): one file in WAL mode, writers serialised by BEGIN
 * IMMEDIATE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../driver.h"
#include "driver.h"
#include "schema.h"

#define STMT_SLOTS 512 /* open addressing; there are far fewer distinct statements */

struct sqlite_stmt {
	struct stmt base;
	const char *sql; /* the caller's literal: the cache key */
	sqlite3_stmt *st;
};

struct sqlite_db {
	struct db base;
	sqlite3 *h;
	char *path;
	int64_t marks[DB_DEPTH_MAX + 1]; /* total changes when each nested level began */
	struct sqlite_stmt slots[STMT_SLOTS];
};

static const struct db_driver sqlite_driver;

static struct sqlite_db *
handle(struct db *db)
{
	return (struct sqlite_db *)db;
}

static sqlite3_stmt *
raw(struct stmt *st)
{
	return ((struct sqlite_stmt *)st)->st;
}

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

static int
sqlite_exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(handle(db)->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("sqlite: %s", msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (rc & 0xff) == SQLITE_BUSY ? ERR_BUSY : ERR_DB;
	}
	return 0;
}

static void
sqlite_close(struct db *db)
{
	struct sqlite_db *s = handle(db);

	for (int i = 0; i < STMT_SLOTS; i++)
		sqlite3_finalize(s->slots[i].st);
	sqlite3_close(s->h);
	free(s->path);
	free(s);
}

int
sqlite_db_open(const char *path, struct db **out)
{
	struct sqlite_db *s;
	int rv = ERR_DB;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		return ERR_NOMEM;
	}
	db_init(&s->base, &sqlite_driver);
	if (sqlite3_open_v2(path, &s->h,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		log_error("cannot open database %s: %s", path,
		    s->h ? sqlite3_errmsg(s->h) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(s->h, 2000);
	sqlite3_extended_result_codes(s->h, 1);
	/* synchronous=FULL: a committed change survives power loss, which single-use tokens and
	 * address promises need; callers amortise the fsync by sharing commits (db_begin nests). */
	if (sqlite_exec(&s->base,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		"PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
		"PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
		/* Checkpoints run from the owner's idle timer (db_checkpoint); this threshold
	     * only bounds the WAL under sustained load. Inline checkpoints every 1000 pages
	     * cost a third of the allocation rate. */
		"PRAGMA wal_autocheckpoint=16384;") < 0)
		goto out;
	if (schema_migrate(s->h) < 0)
		goto out;
	*out = &s->base;
	s = NULL;
	rv = 0;
out:
	if (s != NULL)
		sqlite_close(&s->base);
	return rv;
}

/* " FOR UPDATE" locks a row in PostgreSQL; SQLite has no such clause and needs none (BEGIN
 * IMMEDIATE holds the one write lock). The statement is prepared without it. */
static int
prepare(sqlite3 *h, const char *sql, sqlite3_stmt **st)
{
	static const char lock[] = " FOR UPDATE";
	const char *at = strstr(sql, lock);
	char *copy;
	int rc;

	if (at == NULL)
		return sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if ((copy = strdup(sql)) == NULL)
		return SQLITE_NOMEM;
	memmove(copy + (at - sql), at + sizeof(lock) - 1, strlen(at + sizeof(lock) - 1) + 1);
	rc = sqlite3_prepare_v3(h, copy, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	free(copy);
	return rc;
}

static struct stmt *
sqlite_stmt(struct db *db, const char *sql)
{
	struct sqlite_db *s = handle(db);
	size_t i = ((uintptr_t)sql >> 3) % STMT_SLOTS;
	struct sqlite_stmt *slot;

	for (int n = 0; n < STMT_SLOTS; n++, i = (i + 1) % STMT_SLOTS) {
		slot = &s->slots[i];
		if (slot->sql == sql) {
			sqlite3_reset(slot->st);
			sqlite3_clear_bindings(slot->st);
			return &slot->base;
		}
		if (slot->sql == NULL) {
			if (prepare(s->h, sql, &slot->st) != SQLITE_OK)
				fatalx(
				    "sqlite: cannot prepare \"%s\": %s", sql, sqlite3_errmsg(s->h));
			slot->sql = sql;
			slot->base.db = db;
			return &slot->base;
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

static void
sqlite_bind_int(struct stmt *st, const char *name, int64_t v)
{
	sqlite3_bind_int64(raw(st), param(raw(st), name), v);
}

static void
sqlite_bind_text(struct stmt *st, const char *name, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(raw(st), param(raw(st), name));
	else
		sqlite3_bind_text(raw(st), param(raw(st), name), v, -1, SQLITE_TRANSIENT);
}

static int
sqlite_row(struct stmt *st)
{
	int rc = sqlite3_step(raw(st));

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(raw(st));
	return rc == SQLITE_DONE ? 0 : map_rc(handle(st->db)->h, rc);
}

static void
sqlite_reset(struct stmt *st)
{
	sqlite3_reset(raw(st));
}

static int64_t
sqlite_col_int(struct stmt *st, int col)
{
	return sqlite3_column_int64(raw(st), col);
}

static const char *
sqlite_col_text(struct stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(raw(st), col);

	return t != NULL ? (const char *)t : "";
}

static int
sqlite_col_is_null(struct stmt *st, int col)
{
	return sqlite3_column_type(raw(st), col) == SQLITE_NULL;
}

static int
sqlite_changes(struct db *db)
{
	return sqlite3_changes(handle(db)->h);
}

static int64_t
sqlite_total_changes(struct db *db)
{
	return sqlite3_total_changes64(handle(db)->h);
}

static int
sqlite_tx_begin(struct db *db)
{
	return db_run(db_stmt(db, "BEGIN IMMEDIATE"));
}

static void
sqlite_tx_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(handle(db)->h))
		db_run(db_stmt(db, "ROLLBACK"));
}

static int
sqlite_tx_commit(struct db *db)
{
	int rv = db_run(db_stmt(db, "COMMIT"));

	if (rv < 0)
		sqlite_tx_rollback(db);
	return rv;
}

/* A nested level costs nothing: the count of changes when it began tells, if it fails, whether
 * it wrote anything (see db/db.h). */
static int
sqlite_level_begin(struct db *db, int level)
{
	handle(db)->marks[level] = sqlite3_total_changes64(handle(db)->h);
	return 0;
}

static int
sqlite_level_commit(struct db *db, int level)
{
	(void)db;
	(void)level;
	return 0;
}

static int
sqlite_level_rollback(struct db *db, int level)
{
	return sqlite3_total_changes64(handle(db)->h) != handle(db)->marks[level];
}

/* One manager per file: it runs the jobs. */
static int
sqlite_jobs_lease(struct db *db)
{
	(void)db;
	return 1;
}

static int
sqlite_ping(struct db *db)
{
	struct stmt *st = db_stmt(db, "SELECT 1");
	int rv = db_row(st);

	db_reset(st);
	return rv == 1 ? 0 : ERR_DB;
}

static int
sqlite_writable(struct db *db)
{
	int rv;

	if (sqlite3_db_readonly(handle(db)->h, "main") == 1)
		return ERR_DB;
	/* Takes the write lock as every change does; not timed as a transaction. */
	if ((rv = db_run(db_stmt(db, "BEGIN IMMEDIATE"))) < 0)
		return rv;
	db_run(db_stmt(db, "ROLLBACK"));
	return 0;
}

static int
sqlite_checkpoint(struct db *db)
{
	sqlite3 *h = handle(db)->h;
	int rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	return rc == SQLITE_OK ? 0 : map_rc(h, rc);
}

static int
sqlite_check(struct db *db)
{
	struct stmt *st = db_stmt(db, "PRAGMA quick_check");
	int rv = db_row(st), ok = rv == 1 && strcmp(db_col_text(st, 0), "ok") == 0;

	if (rv == 1 && !ok)
		log_error("database check: %s", db_col_text(st, 0));
	db_reset(st);
	return ok ? 0 : ERR_DB;
}

static int
sqlite_fd(struct db *db, uint64_t *connection)
{
	(void)db;
	*connection = 0;
	return -1;
}

/* One manager per file: there is nobody to hear from. */
static int
sqlite_listen(struct db *db, const char *channel)
{
	(void)db;
	(void)channel;
	return 0;
}

static int
sqlite_announcements(struct db *db)
{
	(void)db;
	return 0;
}

static void
sqlite_describe(struct db *db, char *buf, size_t len)
{
	snprintf(buf, len, "sqlite:%s", handle(db)->path);
}

sqlite3 *
sqlite_db_handle(struct db *db)
{
	return db->drv == &sqlite_driver ? handle(db)->h : NULL;
}

static const struct db_driver sqlite_driver = {
    .dialect = DB_DIALECT_SQLITE,
    .close = sqlite_close,
    .stmt = sqlite_stmt,
    .bind_int = sqlite_bind_int,
    .bind_text = sqlite_bind_text,
    .row = sqlite_row,
    .reset = sqlite_reset,
    .col_int = sqlite_col_int,
    .col_text = sqlite_col_text,
    .col_is_null = sqlite_col_is_null,
    .changes = sqlite_changes,
    .total_changes = sqlite_total_changes,
    .exec = sqlite_exec,
    .tx_begin = sqlite_tx_begin,
    .tx_commit = sqlite_tx_commit,
    .tx_rollback = sqlite_tx_rollback,
    .level_begin = sqlite_level_begin,
    .level_commit = sqlite_level_commit,
    .level_rollback = sqlite_level_rollback,
    .ping = sqlite_ping,
    .jobs_lease = sqlite_jobs_lease,
    .writable = sqlite_writable,
    .checkpoint = sqlite_checkpoint,
    .check = sqlite_check,
    .fd = sqlite_fd,
    .listen = sqlite_listen,
    .announcements = sqlite_announcements,
    .describe = sqlite_describe,
};
