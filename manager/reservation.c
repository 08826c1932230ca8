#include <stdio.h>
#include <string.h>

#include "../db/db.h"
#include "../db/sqlite/stmt.h"
#include "reservation.h"

int
reservation_list(
    struct db *db, int64_t pool_id, int64_t after, int limit, struct reservation *out, int *n)
{
	sqlite3_stmt *st = db_stmt(db,
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
