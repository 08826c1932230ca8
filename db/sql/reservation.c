/* The store of reservations (db/reservation.h). */
#include <stdio.h>
#include <string.h>

#include "../../lib/err.h"
#include "../reservation.h"
#include "pool_row.h"
#include "../stmt.h"

int
reservation_list(
    struct db *db, int64_t pool_id, int64_t after, int limit, struct reservation *out, int *n)
{
	struct stmt *st = db_stmt(db,
	    "SELECT id, pool_id, address, pssid, created_at FROM "
	    "reservations WHERE pool_id = :pool AND id > :after ORDER BY id LIMIT :limit");
	struct reservation *v;
	int rv;

	*n = 0;
	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1) {
		v = &out[(*n)++];
		memset(v, 0, sizeof(*v));
		v->id = db_col_int(st, 0);
		v->pool_id = db_col_int(st, 1);
		snprintf(v->address, sizeof(v->address), "%s", db_col_text(st, 2));
		snprintf(v->pssid, sizeof(v->pssid), "%s", db_col_text(st, 3));
		v->created_at = db_col_int(st, 4);
	}
	return rv;
}

int
reservation_at(struct db *db, int64_t pool_id, uint64_t idx, char *pssid)
{
	struct stmt *st = db_stmt(db,
	    "SELECT pssid FROM reservations WHERE pool_id = :pool "
	    "AND addr_index = :idx");
	int rv;

	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":idx", (int64_t)idx);
	if ((rv = db_row(st)) == 1) {
		if (pssid != NULL)
			snprintf(pssid, PSSID_MAX + 1, "%s", db_col_text(st, 0));
		db_reset(st);
	}
	return rv;
}

int
reservation_has(struct db *db, int64_t pool_id, const char *pssid)
{
	struct stmt *st =
	    db_stmt(db, "SELECT 1 FROM reservations WHERE pool_id = :pool AND pssid = :pssid");
	int rv;

	db_bind_int(st, ":pool", pool_id);
	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_row(st)) == 1)
		db_reset(st);
	return rv;
}

int
reservation_list_pssid(struct db *db, const char *pssid,
    int (*fn)(void *arg, const struct pool *p, uint64_t idx), void *arg)
{
	struct stmt *st = db_stmt(db,
	    "SELECT r.addr_index, " POOL_COLUMNS " FROM reservations r "
	    "JOIN pools ON pools.id = r.pool_id WHERE r.pssid = :pssid ORDER BY family, pools.id");
	struct pool p;
	int rv;

	db_bind_text(st, ":pssid", pssid);
	while ((rv = db_row(st)) == 1) {
		pool_from_row(&p, st, 1);
		if ((rv = fn(arg, &p, (uint64_t)db_col_int(st, 0))) != 0) {
			db_reset(st);
			return rv;
		}
	}
	return rv;
}

int
reservation_add(struct db *db, int64_t pool_id, uint64_t idx, const char *address,
    const char *pssid, int64_t now, int64_t *id)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO reservations (pool_id, addr_index, address, pssid, "
	    "created_at) VALUES (:pool, :idx, :address, :pssid, :now) RETURNING id");

	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":idx", (int64_t)idx);
	db_bind_text(st, ":address", address);
	db_bind_text(st, ":pssid", pssid);
	db_bind_int(st, ":now", now);
	return db_insert_id(st, id);
}

int
reservation_remove(struct db *db, int64_t pool_id, uint64_t idx)
{
	struct stmt *st =
	    db_stmt(db, "DELETE FROM reservations WHERE pool_id = :pool AND addr_index = :idx");
	int rv;

	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":idx", (int64_t)idx);
	if ((rv = db_run(st)) < 0)
		return rv;
	return db_changes(db) == 0 ? ERR_NOT_FOUND : 0;
}
