/* The store of sequential pools' reuse lists (db/freeaddr.h): the free_addrs table. */
#include "../../lib/err.h"
#include "../freeaddr.h"
#include "../stmt.h"

int
freeaddr_add(struct db *db, int64_t pool_id, uint64_t idx)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO free_addrs (pool_id, addr_index) VALUES (:pool, :idx) "
	    "ON CONFLICT (pool_id, addr_index) DO NOTHING");

	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":idx", (int64_t)idx);
	return db_run(st);
}

int
freeaddr_remove(struct db *db, int64_t pool_id, uint64_t idx)
{
	struct stmt *st =
	    db_stmt(db, "DELETE FROM free_addrs WHERE pool_id = :pool AND addr_index = :idx");

	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":idx", (int64_t)idx);
	return db_run(st);
}

int
freeaddr_lowest(struct db *db, int64_t pool_id, uint64_t *idx)
{
	struct stmt *st = db_stmt(db,
	    "SELECT addr_index FROM free_addrs WHERE pool_id = :pool "
	    "ORDER BY addr_index LIMIT 1");
	int rv;

	db_bind_int(st, ":pool", pool_id);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	*idx = (uint64_t)db_col_int(st, 0);
	db_reset(st);
	return 0;
}
