#include <stdio.h>
#include <stdlib.h>

#include "../agentdelta.h"
#include "../stmt.h"

/* The object column holds a kid or a pssid, or an id written as text. */
static int
object_is_id(enum agentdelta_kind k)
{
	switch (k) {
	case AGENTDELTA_GRANT_RELEASE:
	case AGENTDELTA_SESSION_KILL:
	case AGENTDELTA_POOL:
	case AGENTDELTA_POOL_REMOVED: return 1;
	default: return 0;
	}
}

int
agentdelta_next(struct db *db, int64_t after, struct agentdelta *out)
{
	struct stmt *st = db_stmt(db,
	    "SELECT id, kind, object, coalesce(agent_id, 0), reason FROM agent_outbox "
	    "WHERE id > :last ORDER BY id LIMIT 1");
	int rv;

	db_bind_int(st, ":last", after);
	if ((rv = db_row(st)) != 1)
		return rv;
	out->id = db_col_int(st, 0);
	out->kind = AGENTDELTA_UNKNOWN;
	if (db_col_int(st, 1) >= AGENTDELTA_KEY && db_col_int(st, 1) <= AGENTDELTA_KIND_MAX)
		out->kind = (enum agentdelta_kind)db_col_int(st, 1);
	out->name[0] = '\0';
	out->object_id = 0;
	if (object_is_id(out->kind))
		out->object_id = strtoull(db_col_text(st, 2), NULL, 10);
	else
		snprintf(out->name, sizeof(out->name), "%s", db_col_text(st, 2));
	out->agent_id = (uint64_t)db_col_int(st, 3);
	snprintf(out->reason, sizeof(out->reason), "%s", db_col_text(st, 4));
	db_reset(st);
	return 1;
}

int
agentdelta_last(struct db *db, int64_t *id)
{
	struct stmt *st = db_stmt(db, "SELECT coalesce(max(id), 0) FROM agent_outbox");
	int rv;

	*id = 0;
	if ((rv = db_row(st)) != 1)
		return rv;
	*id = db_col_int(st, 0);
	db_reset(st);
	return 0;
}

int
agentdelta_purge(struct db *db, int64_t upto)
{
	struct stmt *st = db_stmt(db, "DELETE FROM agent_outbox WHERE id <= :last");

	db_bind_int(st, ":last", upto);
	return db_run(st);
}

/* Before a transaction's outbox row on PostgreSQL, where several managers write at once: the
 * outbox lock, held to the transaction's end, so that rows commit in the order of their ids
 * (a row's id is drawn after the lock, and the lock is released only once the commit is
 * visible) and a reader that keeps the last id it read never passes over a row that commits
 * later; and the announcement to every manager, sent at the commit (several in one transaction
 * are one). SQLite serialises its writers already (BEGIN IMMEDIATE) and has one manager. */
static int
outbox_lock(struct db *db)
{
	struct stmt *st;

	if (db_dialect(db) != DB_DIALECT_PG)
		return 0;
	st = db_stmt(db, "SELECT pg_advisory_xact_lock(:key), pg_notify(:channel, '')");
	db_bind_int(st, ":key", AGENTDELTA_LOCK_KEY);
	db_bind_text(st, ":channel", AGENTDELTA_CHANNEL);
	return db_run(st);
}

int
agentdelta_add(struct db *db, enum agentdelta_kind kind, const char *name, uint64_t object_id,
    uint64_t agent_id, const char *reason)
{
	struct stmt *st;
	char id[24];
	int rv;

	if ((rv = outbox_lock(db)) < 0)
		return rv;
	st = db_stmt(db,
	    "INSERT INTO agent_outbox (kind, object, agent_id, reason) VALUES (:kind, :object, "
	    ":agent, :reason)");
	db_bind_int(st, ":kind", kind);
	if (object_is_id(kind)) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)object_id);
		db_bind_text(st, ":object", id);
	} else
		db_bind_text(st, ":object", name != NULL ? name : "");
	if (agent_id != 0)
		db_bind_int(st, ":agent", (int64_t)agent_id);
	else
		db_bind_null(st, ":agent");
	db_bind_text(st, ":reason", reason != NULL ? reason : "");
	return db_run(st);
}

int64_t
agentdelta_stamp(struct db *db)
{
	return db_total_changes(db);
}
