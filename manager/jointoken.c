#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../db/sqlite/stmt.h"
#include "../lib/err.h"
#include "../lib/text.h"
#include "../db/audit.h"
#include "client.h"
#include "jointoken.h"

static const char *const state_names[] = {"issued", "in_flight", "consumed", "expired", "aborted"};

#define TOKEN_COLUMNS \
	"id, name, labels, pool_id, state, attempts, expires_at, in_flight_address, " \
	"ack_deadline, consumed_address, consumed_at, created_at, updated_at, created_by"

/* The state as time has it, for rows the sweep has not reached yet. */
#define EFFECTIVE_STATE \
	"CASE WHEN state = 'issued' AND expires_at <= :now THEN 'expired' ELSE state END"

const char *
jointoken_state_str(enum jointoken_state s)
{
	return state_names[s];
}

int
jointoken_state_parse(const char *s, enum jointoken_state *out)
{
	int i = text_lookup(state_names, 5, s);

	if (i < 0)
		return -1;
	*out = (enum jointoken_state)i;
	return 0;
}

static int
label_key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > JOINTOKEN_LABEL_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '.' ||
			k[i] == '_' || k[i] == '/' || k[i] == '-'))
			return 0;
	return 1;
}

const char *
jointoken_labels_check(json_t *labels, char *out)
{
	const char *key;
	json_t *v;
	char *text;

	if (labels == NULL) {
		snprintf(out, JOINTOKEN_LABELS_STRLEN, "{}");
		return NULL;
	}
	if (json_object_size(labels) > JOINTOKEN_LABELS_MAX)
		return "at most 16 labels";
	json_object_foreach(labels, key, v)
	{
		if (!label_key_valid(key))
			return "label keys are 1 to 63 characters of a-z 0-9 . _ / -";
		if (!json_is_string(v) || json_string_length(v) > JOINTOKEN_LABEL_LEN ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return "label values are strings of at most 63 characters";
	}
	if ((text = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return "labels cannot be stored";
	/* 16 × (63 + 63 + quoting) is far below the buffer, even with \\u escapes. */
	snprintf(out, JOINTOKEN_LABELS_STRLEN, "%s", text);
	free(text);
	return NULL;
}

static void
from_row(struct join_token *t, sqlite3_stmt *st)
{
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

int
jointoken_create(struct db *db, const struct jointoken_spec *spec, const char *actor, int64_t now,
    struct join_token *out, char *secret)
{
	sqlite3_stmt *st;
	char hash[SECRET_HASH_STRLEN], object[48];
	json_t *details;
	int rv;

	if (secret_new(JOINTOKEN_PREFIX, secret) < 0)
		return ERR_DB;
	secret_hash(secret, strlen(secret), hash);
	if ((rv = db_begin(db)) < 0)
		return rv;
	st = db_stmt(db,
	    "INSERT INTO join_tokens (hash, name, labels, pool_id, state, expires_at, "
	    "created_at, created_by, updated_at) VALUES (:hash, :name, :labels, :pool, "
	    "'issued', :expires, :now, :by, :now)");
	db_bind_text(st, ":hash", hash);
	db_bind_text(st, ":name", spec->name);
	db_bind_text(st, ":labels", spec->labels);
	if (spec->pool_id > 0)
		db_bind_int(st, ":pool", spec->pool_id);
	db_bind_int(st, ":expires", now + spec->ttl);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":by", actor);
	if ((rv = db_run(st)) < 0)
		goto fail;
	memset(out, 0, sizeof(*out));
	out->id = db_last_id(db);
	snprintf(out->name, sizeof(out->name), "%s", spec->name);
	snprintf(out->labels, sizeof(out->labels), "%s", spec->labels);
	out->pool_id = spec->pool_id;
	out->state = JT_ISSUED;
	out->expires_at = now + spec->ttl;
	out->created_at = out->updated_at = now;
	snprintf(out->created_by, sizeof(out->created_by), "%s", actor);
	snprintf(object, sizeof(object), "join_token:%lld", (long long)out->id);
	details = json_pack("{s:s, s:o, s:o, s:I}", "name", spec->name, "labels",
	    json_loads(spec->labels, 0, NULL), "pool",
	    spec->pool_id > 0 ? json_integer(spec->pool_id) : json_null(), "ttl_seconds",
	    (json_int_t)spec->ttl);
	rv = audit_append(db, now, actor, "join_token.create", object, details);
	json_decref(details);
	if (rv < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
jointoken_get(struct db *db, int64_t id, int64_t now, struct join_token *t)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT id, name, labels, pool_id, " EFFECTIVE_STATE
	    ", attempts, expires_at, in_flight_address, ack_deadline, "
	    "consumed_address, consumed_at, created_at, updated_at, "
	    "created_by FROM join_tokens WHERE id = :id");
	int rv;

	db_bind_int(st, ":id", id);
	db_bind_int(st, ":now", now);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	from_row(t, st);
	db_reset(st);
	return 0;
}

int
jointoken_list(struct db *db, const struct jointoken_filter *f, int64_t now, int64_t after,
    int limit, struct join_token *out, int *n)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT * FROM (SELECT id, name, labels, pool_id, " EFFECTIVE_STATE " AS state, "
	    "attempts, expires_at, in_flight_address, ack_deadline, consumed_address, consumed_at, "
	    "created_at, updated_at, created_by FROM join_tokens WHERE id > :after) WHERE "
	    "(:state IS NULL OR state = :state) AND (:key IS NULL OR EXISTS (SELECT 1 FROM "
	    "json_each(labels) WHERE json_each.key = :key AND (:value IS NULL OR "
	    "json_each.value = :value))) ORDER BY id LIMIT :limit");
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
		from_row(&out[(*n)++], st);
	return rv;
}

int
jointoken_abort(struct db *db, int64_t id, const char *actor, int64_t now, struct join_token *t)
{
	sqlite3_stmt *st;
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = jointoken_get(db, id, now, t)) < 0)
		goto fail;
	if (t->state != JT_ISSUED && t->state != JT_IN_FLIGHT) {
		rv = ERR_CONFLICT;
		goto fail;
	}
	/* The state in the WHERE clause makes this the one transition that wins. */
	st = db_stmt(db,
	    "UPDATE join_tokens SET state = 'aborted', updated_at = :now WHERE "
	    "id = :id AND state IN ('issued', 'in_flight')");
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":id", id);
	if ((rv = db_run(st)) < 0)
		goto fail;
	/* An enrollment in flight dies with its token. */
	if (t->state == JT_IN_FLIGHT &&
	    (rv = client_discard_unacknowledged(db, id, actor, now)) < 0)
		goto fail;
	t->state = JT_ABORTED;
	t->updated_at = now;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

/* An in-flight token whose ack did not come back to issued, one attempt more. */
static const char revert_sql[] =
    "UPDATE join_tokens SET state = 'issued', attempts = attempts + 1, in_flight_address = NULL, "
    "ack_deadline = NULL, ack_hash = NULL, updated_at = :now WHERE id = :id AND state = "
    "'in_flight'";

int
jointoken_revert(struct db *db, int64_t id, const char *actor, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, revert_sql);
	char object[48];
	int rv;

	db_bind_int(st, ":id", id);
	db_bind_int(st, ":now", now);
	if ((rv = db_run(st)) < 0)
		return rv;
	if (db_changes(db) == 0)
		return 0;
	snprintf(object, sizeof(object), "join_token:%lld", (long long)id);
	if ((rv = audit_append(db, now, actor, "join_token.revert", object, NULL)) < 0)
		return rv;
	return client_discard_unacknowledged(db, id, actor, now);
}

/* An issued token past its expiry, written down as expired. */
static int
expire_one(struct db *db, int64_t id, const char *actor, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db,
	    "UPDATE join_tokens SET state = 'expired', updated_at = :now "
	    "WHERE id = :id AND state = 'issued'");
	char object[48];
	int rv;

	db_bind_int(st, ":id", id);
	db_bind_int(st, ":now", now);
	if ((rv = db_run(st)) < 0 || db_changes(db) == 0)
		return rv;
	snprintf(object, sizeof(object), "join_token:%lld", (long long)id);
	return audit_append(db, now, actor, "join_token.expire", object, NULL);
}

/* Apply one transition to each id select_sql picks (at most max). Returns how many, or err. */
static int
sweep_step(struct db *db, const char *select_sql,
    int (*step)(struct db *, int64_t, const char *, int64_t), int64_t now, int max)
{
	sqlite3_stmt *st = db_stmt(db, select_sql);
	int64_t *ids;
	int n = 0, rv;

	if ((ids = calloc((size_t)max, sizeof(*ids))) == NULL)
		return ERR_NOMEM;
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":max", max);
	while ((rv = db_row(st)) == 1)
		ids[n++] = db_col_int(st, 0);
	for (int i = 0; rv == 0 && i < n; i++)
		rv = step(db, ids[i], "sweeper", now);
	free(ids);
	return rv < 0 ? rv : n;
}

int
jointoken_sweep(struct db *db, int64_t now, int max)
{
	int rv, expired, reverted;

	if ((rv = db_begin(db)) < 0)
		return rv;
	expired = sweep_step(db,
	    "SELECT id FROM join_tokens WHERE state = 'issued' AND expires_at <= :now "
	    "ORDER BY expires_at LIMIT :max",
	    expire_one, now, max);
	reverted = expired < 0 ? expired
			       : sweep_step(db,
				     "SELECT id FROM join_tokens WHERE state = 'in_flight' AND "
				     "ack_deadline <= :now ORDER BY ack_deadline LIMIT :max",
				     jointoken_revert, now, max);
	if (reverted < 0) {
		db_rollback(db);
		return reverted;
	}
	if ((rv = db_commit(db)) < 0)
		return rv;
	return expired + reverted;
}
