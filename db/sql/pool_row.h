/* The reader of a pools row, shared by its files that select pools (alone or
 * joined): the column list to select and the row-to-struct reader. Private to db/sql/. */
#ifndef DB_SQL_POOL_ROW_H
#define DB_SQL_POOL_ROW_H

#include "../stmt.h"

#include "../pool.h"

#define POOL_COLUMNS \
	"pools.id, pools.name, pools.isd_as, pools.prefix, pools.first_index, " \
	"pools.last_index, pools.hold_seconds, pools.strategy, pools.mode, pools.next_index, " \
	"pools.n_assigned, pools.n_held, pools.n_reserved, pools.n_occupied, " \
	"pools.created_at, pools.updated_at, pools.gateway_index, pools.routes, " \
	"pools.client_to_client"

/* Read a pool from the current row of st, whose columns first_col... are POOL_COLUMNS. */
void pool_from_row(struct pool *p, struct stmt *st, int first_col);

#endif
