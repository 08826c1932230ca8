#include <stdio.h>
#include <string.h>

#include "../db/db.h"
#include "../db/sqlite/stmt.h"
#include "../lib/err.h"
#include "grant.h"

const char *
grant_state_str(enum grant_state s)
{
	return s == GRANT_ASSIGNED ? "assigned" : "on_hold";
}

int
grant_state_parse(const char *s, enum grant_state *out)
{
	if (strcmp(s, "assigned") == 0)
		*out = GRANT_ASSIGNED;
	else if (strcmp(s, "on_hold") == 0)
		*out = GRANT_ON_HOLD;
	else
		return -1;
	return 0;
}

void
grant_from_row(struct grant *g, void *stmt)
{
	sqlite3_stmt *st = stmt;

	memset(g, 0, sizeof(*g));
	g->id = db_col_int(st, 0);
	g->pool_id = db_col_int(st, 1);
	g->index = (uint64_t)db_col_int(st, 2);
	snprintf(g->address, sizeof(g->address), "%s", db_col_text(st, 3));
	snprintf(g->pssid, sizeof(g->pssid), "%s", db_col_text(st, 4));
	grant_state_parse(db_col_text(st, 5), &g->state);
	g->agent_id = db_col_int(st, 6);
	g->session_id = db_col_int(st, 7);
	g->assigned_at = db_col_int(st, 8);
	g->hold_until = db_col_int(st, 9);
}

static int
grant_one(sqlite3_stmt *st, struct grant *g)
{
	int rv = db_row(st);

	if (rv <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	grant_from_row(g, st);
	db_reset(st);
	return 0;
}

int
grant_get(struct db *db, int64_t id, struct grant *g)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.id = :id");

	db_bind_int(st, ":id", id);
	return grant_one(st, g);
}

int
grant_by_pssid(struct db *db, const char *pssid, struct grant *g)
{
	sqlite3_stmt *st =
	    db_stmt(db, "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.pssid = :pssid");

	db_bind_text(st, ":pssid", pssid);
	return grant_one(st, g);
}

int
grant_at(struct db *db, int64_t pool_id, uint64_t index, struct grant *g)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT " GRANT_COLUMNS " FROM grants g "
	    "WHERE g.pool_id = :pool AND g.addr_index = :idx");

	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":idx", (int64_t)index);
	return grant_one(st, g);
}

/* One statement per driving index: pssid (unique), pool (grants_pool), or none (rowid). */
#define GRANT_LIST_TAIL \
	" g.id > :after AND (g.state = 'assigned' OR g.hold_until > :now) AND " \
	"(:state IS NULL OR g.state = :state) ORDER BY g.id LIMIT :limit"

int
grant_list(struct db *db, const struct grant_filter *f, int64_t now, int64_t after, int limit,
    struct grant *out, int *n)
{
	sqlite3_stmt *st;
	int rv;

	*n = 0;
	if (f->pssid != NULL) {
		st = db_stmt(db,
		    "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.pssid = :pssid "
		    "AND (:pool = 0 OR g.pool_id = :pool) AND" GRANT_LIST_TAIL);
		db_bind_text(st, ":pssid", f->pssid);
		db_bind_int(st, ":pool", f->pool_id);
	} else if (f->pool_id != 0) {
		st = db_stmt(db,
		    "SELECT " GRANT_COLUMNS " FROM grants g WHERE "
		    "g.pool_id = :pool AND" GRANT_LIST_TAIL);
		db_bind_int(st, ":pool", f->pool_id);
	} else {
		st = db_stmt(db, "SELECT " GRANT_COLUMNS " FROM grants g WHERE" GRANT_LIST_TAIL);
	}
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":now", now);
	if (f->state >= 0)
		db_bind_text(st, ":state", grant_state_str((enum grant_state)f->state));
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		grant_from_row(&out[(*n)++], st);
	return rv;
}

int
grant_history(
    struct db *db, int64_t grant_id, int64_t after, int limit, struct grant_event *out, int *n)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT id, action, address, pssid, pool_id, session_id, "
	    "agent_id, hold_until, at, actor FROM grant_history WHERE grant_id = :grant AND "
	    "id > :after ORDER BY id LIMIT :limit");
	struct grant_event *e;
	int rv;

	*n = 0;
	db_bind_int(st, ":grant", grant_id);
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1) {
		e = &out[(*n)++];
		memset(e, 0, sizeof(*e));
		e->id = db_col_int(st, 0);
		snprintf(e->action, sizeof(e->action), "%s", db_col_text(st, 1));
		snprintf(e->address, sizeof(e->address), "%s", db_col_text(st, 2));
		snprintf(e->pssid, sizeof(e->pssid), "%s", db_col_text(st, 3));
		e->pool_id = db_col_int(st, 4);
		e->session_id = db_col_int(st, 5);
		e->agent_id = db_col_int(st, 6);
		e->hold_until = db_col_int(st, 7);
		e->at = db_col_int(st, 8);
		snprintf(e->actor, sizeof(e->actor), "%s", db_col_text(st, 9));
	}
	return rv;
}

int
grant_history_add(
    struct db *db, const struct grant *g, const char *action, const char *actor, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db,
	    "INSERT INTO grant_history (grant_id, pool_id, address, "
	    "pssid, action, session_id, agent_id, hold_until, actor, at) VALUES (:grant, :pool, "
	    ":address, :pssid, :action, :session, :agent, :hold, :actor, :now)");

	db_bind_int(st, ":grant", g->id);
	db_bind_int(st, ":pool", g->pool_id);
	db_bind_text(st, ":address", g->address);
	db_bind_text(st, ":pssid", g->pssid);
	db_bind_text(st, ":action", action);
	db_bind_int(st, ":session", g->session_id);
	db_bind_int(st, ":agent", g->agent_id);
	if (g->state == GRANT_ON_HOLD)
		db_bind_int(st, ":hold", g->hold_until);
	db_bind_text(st, ":actor", actor);
	db_bind_int(st, ":now", now);
	return db_run(st);
}
