/* The join tokens (db/jointoken.h). */
#include <stdio.h>
#include <string.h>

#include "../../lib/err.h"
#include "../jointoken.h"
#include "labels.h"
#include "../stmt.h"

/* A row with its state as time has it, for rows the sweep has not reached yet (bind :now). */
#define TOKEN_SELECT \
	"SELECT id, name, labels, pool_id, CASE WHEN state = 'issued' AND expires_at <= :now " \
	"THEN 'expired' ELSE state END AS state, attempts, expires_at, in_flight_address, " \
	"ack_deadline, consumed_address, consumed_at, created_at, updated_at, created_by " \
	"FROM join_tokens"

static void
row_read(void *out, struct stmt *st)
{
	struct join_token *t = out;

	memset(t, 0, sizeof(*t));
	t->id = db_col_int(st, 0);
	snprintf(t->name, sizeof(t->name), "%s", db_col_text(st, 1));
	snprintf(t->labels, sizeof(t->labels), "%s", db_col_text(st, 2));
	t->pool_id = db_col_int(st, 3);
	jointoken_state_parse(db_col_text(st, 4), &t->state);
	t->attempts = db_col_int(st, 5);
	t->expires_at = db_col_int(st, 6);
	snprintf(t->in_flight_address, sizeof(t->in_flight_address), "%s", db_col_text(st, 7));
	t->ack_deadline = db_col_int(st, 8);
	snprintf(t->consumed_address, sizeof(t->consumed_address), "%s", db_col_text(st, 9));
	t->consumed_at = db_col_int(st, 10);
	t->created_at = db_col_int(st, 11);
	t->updated_at = db_col_int(st, 12);
	snprintf(t->created_by, sizeof(t->created_by), "%s", db_col_text(st, 13));
}

/* A transition's outcome: 1 when its row moved, 0 when it was not in the state it starts from. */
static int
moved(struct db *db, struct stmt *st)
{
	int rv = db_run(st);

	return rv < 0 ? rv : db_changes(db) > 0;
}

int
jointoken_insert(struct db *db, const char *hash, const struct jointoken_spec *spec,
    const char *actor, int64_t now, struct join_token *out)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO join_tokens (hash, name, labels, pool_id, state, expires_at, "
	    "created_at, created_by, updated_at) VALUES (:hash, :name, :labels, :pool, "
	    "'issued', :expires, :now, :by, :now) RETURNING id");
	int rv;

	db_bind_text(st, ":hash", hash);
	db_bind_text(st, ":name", spec->name);
	db_bind_text(st, ":labels", spec->labels);
	if (spec->pool_id > 0)
		db_bind_int(st, ":pool", spec->pool_id);
	db_bind_int(st, ":expires", now + spec->ttl);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":by", actor);
	memset(out, 0, sizeof(*out));
	if ((rv = db_insert_id(st, &out->id)) < 0)
		return rv;
	snprintf(out->name, sizeof(out->name), "%s", spec->name);
	snprintf(out->labels, sizeof(out->labels), "%s", spec->labels);
	out->pool_id = spec->pool_id;
	out->state = JT_ISSUED;
	out->expires_at = now + spec->ttl;
	out->created_at = out->updated_at = now;
	snprintf(out->created_by, sizeof(out->created_by), "%s", actor);
	return 0;
}

int
jointoken_get(struct db *db, int64_t id, int64_t now, struct join_token *t)
{
	struct stmt *st = db_stmt(db, TOKEN_SELECT " WHERE id = :id");

	db_bind_int(st, ":id", id);
	db_bind_int(st, ":now", now);
	return db_row_one(st, row_read, t);
}

int
jointoken_get_by_hash(struct db *db, const char *hash, int64_t now, struct join_token *t)
{
	struct stmt *st = db_stmt(db, TOKEN_SELECT " WHERE hash = :hash");

	db_bind_text(st, ":hash", hash);
	db_bind_int(st, ":now", now);
	return db_row_one(st, row_read, t);
}

int
jointoken_list(struct db *db, const struct jointoken_filter *f, int64_t now, int64_t after,
    int limit, struct join_token *out, int *n)
{
#define TOKEN_LIST(labels_match) \
	"SELECT * FROM (" TOKEN_SELECT " WHERE id > :after) AS t WHERE (:state IS NULL OR " \
	"state = :state) AND " labels_match " ORDER BY id LIMIT :limit"
	static const char *const sql[] = {
	    [DB_DIALECT_SQLITE] = TOKEN_LIST(LABELS_MATCH_SQLITE("labels")),
	    [DB_DIALECT_PG] = TOKEN_LIST(LABELS_MATCH_PG("labels")),
	};
	struct stmt *st = db_stmt(db, sql[db_dialect(db)]);
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":now", now);
	if (f->state >= 0)
		db_bind_text(st, ":state", jointoken_state_str((enum jointoken_state)f->state));
	db_bind_text(st, ":key", f->label_key);
	db_bind_text(st, ":value", f->label_value);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		row_read(&out[(*n)++], st);
	return rv;
}

/* The ids st (bound to :now and :max) selects. */
static int
ids_read(struct stmt *st, int64_t now, int max, int64_t *ids, int *n)
{
	int rv;

	*n = 0;
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":max", max);
	while ((rv = db_row(st)) == 1)
		ids[(*n)++] = db_col_int(st, 0);
	return rv;
}

int
jointoken_list_expired(struct db *db, int64_t now, int max, int64_t *ids, int *n)
{
	return ids_read(db_stmt(db,
			    "SELECT id FROM join_tokens WHERE state = 'issued' AND expires_at <= "
			    ":now ORDER BY expires_at LIMIT :max"),
	    now, max, ids, n);
}

int
jointoken_list_ack_lapsed(struct db *db, int64_t now, int max, int64_t *ids, int *n)
{
	return ids_read(db_stmt(db,
			    "SELECT id FROM join_tokens WHERE state = 'in_flight' AND "
			    "ack_deadline <= :now ORDER BY ack_deadline LIMIT :max"),
	    now, max, ids, n);
}

int
jointoken_count_by_state(struct db *db, int64_t now, int64_t n[5])
{
	struct stmt *st = db_stmt(db,
	    "SELECT CASE WHEN state = 'issued' AND expires_at <= :now THEN 'expired' ELSE state "
	    "END AS s, count(*) FROM join_tokens GROUP BY s");
	enum jointoken_state s;
	int rv;

	memset(n, 0, 5 * sizeof(n[0]));
	db_bind_int(st, ":now", now);
	while ((rv = db_row(st)) == 1)
		if (jointoken_state_parse(db_col_text(st, 0), &s) == 0)
			n[s] = db_col_int(st, 1);
	return rv;
}

int
jointoken_count_pending_acks(struct db *db, int64_t now, int64_t *n)
{
	struct stmt *st = db_stmt(db,
	    "SELECT count(*) FROM join_tokens WHERE state = "
	    "'in_flight' AND ack_deadline > :now");
	int rv;

	db_bind_int(st, ":now", now);
	if ((rv = db_row(st)) < 0)
		return rv;
	*n = db_col_int(st, 0);
	db_reset(st);
	return 0;
}

int
jointoken_get_by_ack(struct db *db, const char *ack_hash, int64_t now, int64_t *id, char *pssid)
{
	struct stmt *st = db_stmt(db,
	    "SELECT j.id, c.pssid FROM join_tokens j JOIN clients c ON "
	    "c.join_token_id = j.id WHERE j.ack_hash = :hash AND j.state = "
	    "'in_flight' AND j.ack_deadline > :now");
	int rv;

	db_bind_text(st, ":hash", ack_hash);
	db_bind_int(st, ":now", now);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	*id = db_col_int(st, 0);
	snprintf(pssid, PSSID_MAX + 1, "%s", db_col_text(st, 1));
	db_reset(st);
	return 0;
}

int
jointoken_set_in_flight(struct db *db, int64_t id, enum jointoken_state from, const char *caller,
    int64_t deadline, const char *ack_hash, int64_t now)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE join_tokens SET state = 'in_flight', in_flight_address = "
	    ":caller, ack_deadline = :deadline, ack_hash = :hash, updated_at = "
	    ":now WHERE id = :id AND state = :from");

	db_bind_text(st, ":caller", caller);
	db_bind_int(st, ":deadline", deadline);
	db_bind_text(st, ":hash", ack_hash);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":id", id);
	db_bind_text(st, ":from", jointoken_state_str(from));
	return moved(db, st);
}

/* The transition sql (bound to :id and :now) of token id. */
static int
transition(struct db *db, const char *sql, int64_t id, int64_t now)
{
	struct stmt *st = db_stmt(db, sql);

	db_bind_int(st, ":id", id);
	db_bind_int(st, ":now", now);
	return moved(db, st);
}

int
jointoken_set_consumed(struct db *db, int64_t id, int64_t now)
{
	return transition(db,
	    "UPDATE join_tokens SET state = 'consumed', consumed_address = in_flight_address, "
	    "consumed_at = :now, ack_hash = NULL, ack_deadline = NULL, updated_at = :now WHERE "
	    "id = :id AND state = 'in_flight'",
	    id, now);
}

int
jointoken_set_issued(struct db *db, int64_t id, int64_t now)
{
	return transition(db,
	    "UPDATE join_tokens SET state = 'issued', attempts = attempts + 1, in_flight_address = "
	    "NULL, ack_deadline = NULL, ack_hash = NULL, updated_at = :now WHERE id = :id AND "
	    "state = 'in_flight'",
	    id, now);
}

int
jointoken_set_expired(struct db *db, int64_t id, int64_t now)
{
	return transition(db,
	    "UPDATE join_tokens SET state = 'expired', updated_at = :now WHERE id = :id AND "
	    "state = 'issued'",
	    id, now);
}

int
jointoken_set_aborted(struct db *db, int64_t id, int64_t now)
{
	return transition(db,
	    "UPDATE join_tokens SET state = 'aborted', updated_at = :now WHERE id = :id AND "
	    "state IN ('issued', 'in_flight')",
	    id, now);
}
