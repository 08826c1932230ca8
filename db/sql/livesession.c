#include <stdio.h>
#include <string.h>

#include "../livesession.h"
#include "../stmt.h"

/* Counters are unsigned 64-bit and wrap; the store keeps their bit pattern in a signed column. */
#define LIVESESSION_COLUMNS \
	"s.id, s.agent_id, s.pssid, s.grant_id, s.address, s.isd_as, s.remote, s.started_at, " \
	"s.expires_at, s.rx_packets, s.rx_bytes, s.tx_packets, s.tx_bytes, s.dropped_packets, " \
	"s.drop_malformed, s.drop_spoofed, s.drop_no_route, s.drop_too_big, s.drop_blocked, " \
	"s.drop_unassigned, s.drop_ttl_exceeded, s.drop_isolated, s.drop_no_tunnel"
#define LIVESESSION_DROPS_AT 14 /* the column of drop_malformed */

/* The parameter of each drop reason, by enum counters_drop. */
static const char *const drop_params[COUNTERS_DROP_N] = {
    ":d0", ":d1", ":d2", ":d3", ":d4", ":d5", ":d6", ":d7", ":d8"};

int
livesession_forget(struct db *db, uint64_t agent_id, const char *manager)
{
	struct stmt *st =
	    db_stmt(db, "DELETE FROM live_sessions WHERE agent_id = :agent AND manager = :manager");

	db_bind_int(st, ":agent", (int64_t)agent_id);
	db_bind_text(st, ":manager", manager);
	return db_run(st);
}

static int
insert(struct db *db, const char *manager, const struct session *s)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO live_sessions (id, agent_id, manager, pssid, grant_id, address, isd_as, "
	    "remote, started_at, expires_at, rx_packets, rx_bytes, tx_packets, tx_bytes, "
	    "dropped_packets, drop_malformed, drop_spoofed, drop_no_route, drop_too_big, "
	    "drop_blocked, drop_unassigned, drop_ttl_exceeded, drop_isolated, drop_no_tunnel) "
	    "VALUES (:id, :agent, :manager, :pssid, :grant, :address, :isd_as, :remote, :started, "
	    ":expires, :rxp, :rxb, :txp, :txb, :dropped, :d0, :d1, :d2, :d3, :d4, :d5, :d6, :d7, "
	    ":d8)");

	db_bind_int(st, ":id", (int64_t)s->id);
	db_bind_int(st, ":agent", (int64_t)s->agent_id);
	db_bind_text(st, ":manager", manager);
	db_bind_text(st, ":pssid", s->pssid);
	db_bind_int(st, ":grant", (int64_t)s->grant_id);
	db_bind_text(st, ":address", s->address);
	db_bind_int(st, ":isd_as", (int64_t)s->isd_as);
	db_bind_text(st, ":remote", s->remote);
	db_bind_int(st, ":started", s->started_at);
	db_bind_int(st, ":expires", s->expires_at);
	db_bind_int(st, ":rxp", (int64_t)s->counters.rx_packets);
	db_bind_int(st, ":rxb", (int64_t)s->counters.rx_bytes);
	db_bind_int(st, ":txp", (int64_t)s->counters.tx_packets);
	db_bind_int(st, ":txb", (int64_t)s->counters.tx_bytes);
	db_bind_int(st, ":dropped", (int64_t)s->counters.dropped_packets);
	for (int i = 0; i < COUNTERS_DROP_N; i++)
		db_bind_int(st, drop_params[i], (int64_t)s->counters.drops[i]);
	return db_run(st);
}

/* Delete and insert rather than upsert: the rows left are exactly v, a session that ended is
 * gone, with no per-row check of what the store holds. Its own transaction level, so that the
 * agent's rows change whole or not at all, also when called outside a transaction; as a batch:
 * a round trip per window of rows on PostgreSQL, not one a row. */
int
livesession_replace(
    struct db *db, uint64_t agent_id, const char *manager, const struct session *v, size_t n)
{
	/* Also any row another manager left of this agent: the agent is attached here now. */
	struct stmt *st = db_stmt(db, "DELETE FROM live_sessions WHERE agent_id = :agent");
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	db_batch_begin(db);
	db_bind_int(st, ":agent", (int64_t)agent_id);
	rv = db_run(st);
	for (size_t i = 0; rv == 0 && i < n; i++)
		rv = insert(db, manager, &v[i]);
	if ((rv = db_batch_end(db)) < 0) {
		db_rollback(db);
		return rv;
	}
	return db_commit(db);
}

static void
from_row(void *out, struct stmt *st)
{
	struct session *s = out;

	memset(s, 0, sizeof(*s));
	s->id = (uint64_t)db_col_int(st, 0);
	s->agent_id = (uint64_t)db_col_int(st, 1);
	snprintf(s->pssid, sizeof(s->pssid), "%s", db_col_text(st, 2));
	s->grant_id = (uint64_t)db_col_int(st, 3);
	snprintf(s->address, sizeof(s->address), "%s", db_col_text(st, 4));
	s->isd_as = (uint64_t)db_col_int(st, 5);
	snprintf(s->remote, sizeof(s->remote), "%s", db_col_text(st, 6));
	s->started_at = db_col_int(st, 7);
	s->expires_at = db_col_int(st, 8);
	s->counters.rx_packets = (uint64_t)db_col_int(st, 9);
	s->counters.rx_bytes = (uint64_t)db_col_int(st, 10);
	s->counters.tx_packets = (uint64_t)db_col_int(st, 11);
	s->counters.tx_bytes = (uint64_t)db_col_int(st, 12);
	s->counters.dropped_packets = (uint64_t)db_col_int(st, 13);
	for (int i = 0; i < COUNTERS_DROP_N; i++)
		s->counters.drops[i] = (uint64_t)db_col_int(st, LIVESESSION_DROPS_AT + i);
}

/* The rows of agents attached to a live manager other than self, the one that wrote them. */
#define LIVESESSION_VISIBLE \
	"FROM live_sessions s JOIN agents a ON a.id = s.agent_id AND a.manager = s.manager " \
	"WHERE s.manager <> :self AND a.last_heartbeat >= :fresh "

static void
bind_visible(struct stmt *st, const struct livesession_filter *f)
{
	db_bind_text(st, ":self", f->self);
	db_bind_int(st, ":fresh", f->fresh_since);
}

int
livesession_list(struct db *db, const struct livesession_filter *f, uint64_t after, int limit,
    struct session *out, int *n)
{
	struct stmt *st = db_stmt(db,
	    "SELECT " LIVESESSION_COLUMNS " " LIVESESSION_VISIBLE
	    "AND s.id > :after AND (:pssid IS NULL OR s.pssid = :pssid) AND (:agent = 0 OR "
	    "s.agent_id = :agent) ORDER BY s.id LIMIT :limit");
	int rv;

	*n = 0;
	bind_visible(st, f);
	db_bind_int(st, ":after", (int64_t)after);
	db_bind_text(st, ":pssid", f->pssid);
	db_bind_int(st, ":agent", (int64_t)f->agent_id);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		from_row(&out[(*n)++], st);
	return rv;
}

int
livesession_get(struct db *db, const struct livesession_filter *f, uint64_t id, struct session *out)
{
	struct stmt *st =
	    db_stmt(db, "SELECT " LIVESESSION_COLUMNS " " LIVESESSION_VISIBLE "AND s.id = :id");

	bind_visible(st, f);
	db_bind_int(st, ":id", (int64_t)id);
	return db_row_one(st, from_row, out);
}
