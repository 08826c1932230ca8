/* The seam between the backend-neutral store (db/db.c, db/stmt.h, the record modules in
 * db/sql/) and a driver (db/sqlite/, db/pg/). A driver's handle embeds struct db first and
 * its statements embed struct stmt first; db/db.c keeps what both share (transaction nesting,
 * the latency histogram) and calls the driver through struct db_driver. Private to db/. */
#ifndef DB_DRIVER_H
#define DB_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/histogram.h"
#include "stmt.h"

#define DB_DEPTH_MAX 8

struct db {
	const struct db_driver *drv;
	int depth; /* open transaction levels: 1 = BEGIN, more = nested operations */
	int doomed; /* a nested level failed and could not be undone: no commit */
	int batch; /* between db_batch_begin and db_batch_end */
	int batch_err; /* the first failure db_run returned in it */
	uint64_t began_ns; /* of the outermost transaction */
	struct histogram tx_latency;
};

struct stmt {
	struct db *db;
};

struct db_driver {
	enum db_dialect dialect;
	void (*close)(struct db *db);
	struct stmt *(*stmt)(struct db *db, const char *sql);
	/* text NULL binds NULL */
	void (*bind_int)(struct stmt *st, const char *name, int64_t v);
	void (*bind_text)(struct stmt *st, const char *name, const char *v);
	int (*row)(struct stmt *st);
	void (*reset)(struct stmt *st);
	int64_t (*col_int)(struct stmt *st, int col);
	const char *(*col_text)(struct stmt *st, int col);
	int (*col_is_null)(struct stmt *st, int col);
	int (*changes)(struct db *db);
	int64_t (*total_changes)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	/* The outermost transaction. commit leaves the transaction ended whatever it returns. */
	int (*tx_begin)(struct db *db);
	int (*tx_commit)(struct db *db);
	void (*tx_rollback)(struct db *db);
	/* Nested level `level` (2...DB_DEPTH_MAX) inside an open transaction. level_rollback
	 * returns 0 when the level's changes are undone (or there were none), 1 when they could
	 * not be and the enclosing transaction must not commit. */
	int (*level_begin)(struct db *db, int level);
	int (*level_commit)(struct db *db, int level);
	int (*level_rollback)(struct db *db, int level);
	/* Optional (NULL: statements run one by one anyway). batch_end returns the batch's
	 * first failure. */
	void (*batch_begin)(struct db *db);
	int (*batch_end)(struct db *db);
	int (*ping)(struct db *db);
	/* 1 when this handle holds the jobs lease (db_jobs_lease), 0 when another does, or err. */
	int (*jobs_lease)(struct db *db);
	int (*writable)(struct db *db);
	int (*checkpoint)(struct db *db);
	int (*check)(struct db *db);
	int (*fd)(struct db *db, uint64_t *connection);
	/* channel is checked already (db_listen) */
	int (*listen)(struct db *db, const char *channel);
	int (*announcements)(struct db *db);
	void (*describe)(struct db *db, char *buf, size_t len);
};

/* Set up the shared part of a driver's new handle. */
void db_init(struct db *db, const struct db_driver *drv);

/* The drivers' constructors, called by db_open for the store it names: 0 or ERR_DB (logged),
 * *out NULL on failure. */
int sqlite_db_open(const char *path, struct db **out);
int pg_db_open(const char *conninfo, struct db **out);

#endif
