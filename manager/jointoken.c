#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../lib/err.h"
#include "../db/audit.h"
#include "client.h"
#include "jointoken.h"

/* The audit event of a transition of token id. */
static int
audit_token(
    struct db *db, int64_t now, const char *actor, const char *action, int64_t id, json_t *details)
{
	char object[48];

	snprintf(object, sizeof(object), "join_token:%lld", (long long)id);
	return audit_append(db, now, actor, action, object, details);
}

int
jointoken_create(struct db *db, const struct jointoken_spec *spec, const char *actor, int64_t now,
    struct join_token *out, char *secret)
{
	char hash[SECRET_HASH_STRLEN];
	json_t *details;
	int rv;

	if (secret_new(JOINTOKEN_PREFIX, secret) < 0)
		return ERR_DB;
	secret_hash(secret, strlen(secret), hash);
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = jointoken_insert(db, hash, spec, actor, now, out)) < 0)
		goto fail;
	details = json_pack("{s:s, s:o, s:o, s:I}", "name", spec->name, "labels",
	    json_loads(spec->labels, 0, NULL), "pool",
	    spec->pool_id > 0 ? json_integer(spec->pool_id) : json_null(), "ttl_seconds",
	    (json_int_t)spec->ttl);
	rv = audit_token(db, now, actor, "join_token.create", out->id, details);
	json_decref(details);
	if (rv < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
jointoken_abort(struct db *db, int64_t id, const char *actor, int64_t now, struct join_token *t)
{
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = jointoken_get(db, id, now, t)) < 0)
		goto fail;
	if (t->state != JT_ISSUED && t->state != JT_IN_FLIGHT) {
		rv = ERR_CONFLICT;
		goto fail;
	}
	/* The transition names its starting states: it is the one that wins. */
	if ((rv = jointoken_set_aborted(db, id, now)) < 0)
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

int
jointoken_revert(struct db *db, int64_t id, const char *actor, int64_t now)
{
	struct join_token t;
	json_t *details;
	int rv;

	if ((rv = jointoken_set_issued(db, id, now)) <= 0)
		return rv;
	if ((rv = audit_token(db, now, actor, "join_token.revert", id, NULL)) < 0 ||
	    (rv = client_discard_unacknowledged(db, id, actor, now)) < 0 ||
	    (rv = jointoken_get(db, id, now, &t)) < 0)
		return rv;
	if (t.state != JT_ISSUED || t.attempts < JOINTOKEN_ATTEMPTS_MAX)
		return 0;
	if ((rv = jointoken_set_aborted(db, id, now)) < 0)
		return rv;
	details = json_pack("{s:s, s:I}", "reason", "too many unacknowledged joins", "attempts",
	    (json_int_t)t.attempts);
	rv = audit_token(db, now, actor, "join_token.abort", id, details);
	json_decref(details);
	return rv;
}

/* An issued token past its expiry, written down as expired. */
static int
expire_one(struct db *db, int64_t id, const char *actor, int64_t now)
{
	int rv;

	if ((rv = jointoken_set_expired(db, id, now)) <= 0)
		return rv;
	return audit_token(db, now, actor, "join_token.expire", id, NULL);
}

/* Apply one transition to each id list picks (at most max). Returns how many, or err. */
static int
sweep_step(struct db *db, int (*list)(struct db *, int64_t, int, int64_t *, int *),
    int (*step)(struct db *, int64_t, const char *, int64_t), int64_t now, int max)
{
	int64_t *ids;
	int n = 0, rv;

	if ((ids = calloc((size_t)max, sizeof(*ids))) == NULL)
		return ERR_NOMEM;
	rv = list(db, now, max, ids, &n);
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
	expired = sweep_step(db, jointoken_list_expired, expire_one, now, max);
	reverted = expired < 0
	    ? expired
	    : sweep_step(db, jointoken_list_ack_lapsed, jointoken_revert, now, max);
	if (reverted < 0) {
		db_rollback(db);
		return reverted;
	}
	if ((rv = db_commit(db)) < 0)
		return rv;
	return expired + reverted;
}
