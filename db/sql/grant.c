/* The store of grants and their history (db/grant.h). */
#include <stdio.h>
#include <string.h>

#include "../../lib/err.h"
#include "../grant.h"
#include "../agentdelta.h"
#include "../stmt.h"

#define GRANT_COLUMNS \
	"g.id, g.pool_id, g.addr_index, g.address, g.pssid, g.state, g.agent_id, g.session_id, " \
	"g.assigned_at, g.hold_until"

/* Read a grant from the current row of st, whose first columns are GRANT_COLUMNS. */
static void
grant_from_row(struct grant *g, struct stmt *st)
{
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
grant_one(struct stmt *st, struct grant *g)
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
	struct stmt *st = db_stmt(db, "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.id = :id");

	db_bind_int(st, ":id", id);
	return grant_one(st, g);
}

int
grant_by_pssid(struct db *db, const char *pssid, struct grant *g)
{
	struct stmt *st =
	    db_stmt(db, "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.pssid = :pssid");

	db_bind_text(st, ":pssid", pssid);
	return grant_one(st, g);
}

int
grant_at(struct db *db, int64_t pool_id, uint64_t index, struct grant *g)
{
	struct stmt *st = db_stmt(db,
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
	struct stmt *st;
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
grant_list_assigned(struct db *db, int64_t agent_id,
    int (*fn)(void *arg, int64_t grant_id, int64_t session_id), void *arg)
{
	struct stmt *st = db_stmt(db,
	    "SELECT id, session_id FROM grants WHERE agent_id = :agent AND state = 'assigned' "
	    "ORDER BY id");
	int rv, n = 0;

	db_bind_int(st, ":agent", agent_id);
	while ((rv = db_row(st)) == 1) {
		n++;
		if (fn(arg, db_col_int(st, 0), db_col_int(st, 1)) != 0) {
			db_reset(st);
			break;
		}
	}
	return rv < 0 ? rv : n;
}

int
grant_list_agent(struct db *db, int64_t agent_id, int64_t now, int64_t after, int limit,
    int (*fn)(void *arg, const struct grant *g, uint64_t isd_as), void *arg)
{
	/* Each arm walks grants_agent (agent_id, state, id) from the cursor in id order and the
	 * two are merged: no sort of all the agent's grants per call. */
	struct stmt *st = db_stmt(db,
	    "SELECT " GRANT_COLUMNS ", p.isd_as FROM grants g JOIN pools p ON p.id = g.pool_id "
	    "WHERE g.agent_id = :agent AND g.state = 'assigned' AND g.id > :after "
	    "UNION ALL "
	    "SELECT " GRANT_COLUMNS ", p.isd_as FROM grants g JOIN pools p ON p.id = g.pool_id "
	    "WHERE g.agent_id = :agent AND g.state = 'on_hold' AND g.hold_until > :now "
	    "AND g.id > :after "
	    "ORDER BY 1 LIMIT :n");
	struct grant g;
	int rv, n = 0;

	db_bind_int(st, ":agent", agent_id);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":n", limit);
	while ((rv = db_row(st)) == 1) {
		n++;
		grant_from_row(&g, st);
		if (fn(arg, &g, (uint64_t)db_col_int(st, 10)) != 0) {
			db_reset(st);
			break;
		}
	}
	return rv < 0 ? rv : n;
}

int
grant_list_lapsed(struct db *db, int64_t now, int max, struct grant *out, int *n)
{
	struct stmt *st = db_stmt(db,
	    "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.state = 'on_hold' AND "
	    "g.hold_until <= :now ORDER BY g.hold_until LIMIT :max");
	int rv;

	*n = 0;
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":max", max);
	while ((rv = db_row(st)) == 1)
		grant_from_row(&out[(*n)++], st);
	return rv;
}

int
grant_first_lapsed(struct db *db, int64_t pool_id, int64_t now, struct grant *g)
{
	struct stmt *st = db_stmt(db,
	    "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.pool_id = "
	    ":pool AND g.state = 'on_hold' AND g.hold_until <= :now AND NOT EXISTS (SELECT 1 "
	    "FROM reservations r WHERE r.pool_id = g.pool_id AND r.addr_index = g.addr_index) "
	    "ORDER BY g.hold_until LIMIT 1");

	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":now", now);
	return grant_one(st, g);
}

int
grant_insert(struct db *db, struct grant *g)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO grants (pool_id, addr_index, address, pssid, state, "
	    "agent_id, session_id, assigned_at) VALUES (:pool, :idx, :address, :pssid, "
	    "'assigned', :agent, :session, :now) RETURNING id");
	int rv;

	db_bind_int(st, ":pool", g->pool_id);
	db_bind_int(st, ":idx", (int64_t)g->index);
	db_bind_text(st, ":address", g->address);
	db_bind_text(st, ":pssid", g->pssid);
	db_bind_int(st, ":agent", g->agent_id);
	db_bind_int(st, ":session", g->session_id);
	db_bind_int(st, ":now", g->assigned_at);
	if ((rv = db_insert_id(st, &g->id)) < 0)
		return rv;
	g->state = GRANT_ASSIGNED;
	g->hold_until = 0;
	return 0;
}

int
grant_assign(struct db *db, struct grant *g, int64_t agent_id, int64_t session_id, int64_t now)
{
	/* A grant handed to a new session on another agent (the client moved, same address) ends
	 * the old session there: that agent would not learn it otherwise and both would route the
	 * address. On the same agent the agent supersedes the old session itself. */
	struct stmt *st = db_stmt(db,
	    "UPDATE grants SET state = 'assigned', session_id = "
	    ":session, agent_id = :agent, assigned_at = :now, hold_until = NULL WHERE id = :id");
	int moved = g->state == GRANT_ASSIGNED && g->agent_id != agent_id;
	int64_t old_session = g->session_id, old_agent = g->agent_id;
	int rv;

	db_bind_int(st, ":session", session_id);
	db_bind_int(st, ":agent", agent_id);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":id", g->id);
	if ((rv = db_run(st)) < 0)
		return rv;
	g->state = GRANT_ASSIGNED;
	g->session_id = session_id;
	g->agent_id = agent_id;
	g->assigned_at = now;
	g->hold_until = 0;
	if (!moved)
		return 0;
	return agentdelta_add(db, AGENTDELTA_SESSION_KILL, NULL, (uint64_t)old_session,
	    (uint64_t)old_agent, "superseded");
}

int
grant_hold(struct db *db, int64_t id, int64_t until)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE grants SET state = 'on_hold', hold_until = :until "
	    "WHERE id = :id");

	db_bind_int(st, ":until", until);
	db_bind_int(st, ":id", id);
	return db_run(st);
}

int
grant_delete(struct db *db, int64_t id)
{
	/* Only an assigned grant can have a session to close; lapsed holds go silently. */
	struct stmt *st = db_stmt(db,
	    "DELETE FROM grants WHERE id = :id RETURNING state = 'assigned', coalesce(agent_id, 0)");
	int64_t assigned, agent;
	int rv;

	db_bind_int(st, ":id", id);
	if ((rv = db_row(st)) <= 0)
		return rv;
	assigned = db_col_int(st, 0);
	agent = db_col_int(st, 1);
	while ((rv = db_row(st)) == 1)
		;
	if (rv < 0 || !assigned)
		return rv;
	return agentdelta_add(
	    db, AGENTDELTA_GRANT_RELEASE, NULL, (uint64_t)id, (uint64_t)agent, "address released");
}

int
grant_history(
    struct db *db, int64_t grant_id, int64_t after, int limit, struct grant_event *out, int *n)
{
	struct stmt *st = db_stmt(db,
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
	struct stmt *st = db_stmt(db,
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
