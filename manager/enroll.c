#include <stdio.h>
#include <string.h>

#include "../db/db.h"
#include "../lib/b64url.h"
#include "../lib/err.h"
#include "../db/audit.h"
#include "enroll.h"
#include "jointoken.h"

/* An ack token hash colliding with a pending one is astronomically unlikely with 128 bits; a
 * few fresh draws settle it. */
#define ACK_DRAWS 4

static int
new_ack(char *ack, char *hash)
{
	unsigned char raw[16];

	if (secret_random(raw, sizeof(raw)) < 0)
		return ERR_DB;
	memcpy(ack, ENROLL_ACK_PREFIX, 4);
	b64url_encode(raw, sizeof(raw), ack + 4);
	secret_hash(ack, strlen(ack), hash);
	return 0;
}

/* Put the token in flight for caller with a fresh ack (drawn again while its hash collides with
 * another pending ack). ERR_CONFLICT when the token left from meanwhile. */
static int
set_in_flight(struct db *db, struct enroll_bundle *b, const char *caller, int64_t now,
    int64_t deadline, enum jointoken_state from)
{
	char hash[SECRET_HASH_STRLEN];
	int rv = ERR_CONFLICT;

	b->ack_deadline = deadline;
	for (int i = 0; i < ACK_DRAWS && rv == ERR_CONFLICT; i++) {
		if ((rv = new_ack(b->ack, hash)) < 0)
			return rv;
		rv = jointoken_set_in_flight(
		    db, b->join_token_id, from, caller, b->ack_deadline, hash, now);
	}
	return rv == 0 ? ERR_CONFLICT : rv < 0 ? rv : 0;
}

int
enroll_join(struct db *db, const char *secret, const char *name, const char *caller, int64_t now,
    int64_t ack_ttl, struct enroll_bundle *b, enum jointoken_state *state)
{
	char hash[SECRET_HASH_STRLEN], object[96];
	struct join_token t;
	struct client c;
	int64_t pending;
	int rv, reverted = 0;

	memset(b, 0, sizeof(*b));
	secret_hash(secret, strlen(secret), hash);
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = jointoken_get_by_hash(db, hash, now, &t)) < 0) {
		rv = rv == ERR_NOT_FOUND ? ERR_DENIED : rv;
		goto fail;
	}
	b->join_token_id = t.id;
	*state = t.state;
	b->pool_id = t.pool_id;
	if (t.state == JT_IN_FLIGHT && t.ack_deadline <= now) {
		/* The ack lapsed and the sweep has not written it down yet: revert it now, as the
		 * sweep would, and treat the token as what it has become. */
		if ((rv = jointoken_revert(db, t.id, "ack-deadline", now)) < 0 ||
		    (rv = jointoken_get(db, t.id, now, &t)) < 0)
			goto fail;
		reverted = 1;
		*state = t.state;
	}
	b->attempts = t.attempts;
	switch (t.state) {
	case JT_IN_FLIGHT:
		if (strcmp(t.in_flight_address, caller) != 0) {
			rv = ERR_CONFLICT;
			goto fail;
		}
		/* The same joiner again (a lost answer): same pssid, fresh secrets, and the same
		 * deadline — re-presenting never keeps an unacknowledged enrollment alive. */
		if ((rv = client_get_by_join_token(db, t.id, &c)) < 0) {
			rv = rv == ERR_NOT_FOUND ? ERR_DB : rv;
			goto fail;
		}
		snprintf(b->pssid, sizeof(b->pssid), "%s", c.pssid);
		if ((rv = client_reset_refresh(db, b->pssid, now, b->refresh)) < 0 ||
		    (rv = set_in_flight(db, b, caller, now, t.ack_deadline, JT_IN_FLIGHT)) < 0)
			goto fail;
		snprintf(b->name, sizeof(b->name), "%s", c.name);
		break;
	case JT_ISSUED:
		if ((rv = jointoken_count_pending_acks(db, now, &pending)) < 0)
			goto fail;
		if (pending >= ENROLL_ACK_PENDING_MAX) {
			rv = ERR_LIMIT;
			goto fail;
		}
		snprintf(b->name, sizeof(b->name), "%s",
		    name[0]         ? name
			: t.name[0] ? t.name
				    : "unnamed");
		if (client_new_pssid(b->pssid) < 0) {
			rv = ERR_DB;
			goto fail;
		}
		if ((rv = client_create(db, b->pssid, b->name, t.labels, t.id, now, b->refresh)) <
			0 ||
		    (rv = set_in_flight(db, b, caller, now, now + ack_ttl, JT_ISSUED)) < 0)
			goto fail;
		break;
	default: rv = ERR_GONE; goto fail;
	}
	snprintf(object, sizeof(object), "join_token:%lld", (long long)t.id);
	if ((rv = audit_append(db, now, caller, "join_token.join", object, NULL)) < 0)
		goto fail;
	return db_commit(db);
fail:
	/* A refusal after an inline revert keeps the revert: it is what time decided. */
	if (reverted && rv != ERR_DB && rv != ERR_BUSY && rv != ERR_NOMEM) {
		int crv = db_commit(db);
		return crv < 0 ? crv : rv;
	}
	db_rollback(db);
	return rv;
}

int
enroll_ack(struct db *db, const char *ack, int64_t now, char *pssid)
{
	char hash[SECRET_HASH_STRLEN], object[48];
	int64_t id;
	int rv;

	secret_hash(ack, strlen(ack), hash);
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = jointoken_get_by_ack(db, hash, now, &id, pssid)) < 0) {
		rv = rv == ERR_NOT_FOUND ? ERR_GONE : rv;
		goto fail;
	}
	/* The transition names its starting state: of two racing acks, one consumes. */
	if ((rv = jointoken_set_consumed(db, id, now)) <= 0) {
		rv = rv == 0 ? ERR_GONE : rv;
		goto fail;
	}
	snprintf(object, sizeof(object), "join_token:%lld", (long long)id);
	if ((rv = audit_append(db, now, pssid, "join_token.consume", object, NULL)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}
