#include <stdio.h>
#include <string.h>

#include "../db/db.h"
#include "../db/revocation.h"
#include "../lib/err.h"
#include "access.h"
#include "alloc.h"
#include "../db/audit.h"
#include "client.h"
#include "revoke.h"
#include "../db/grant.h"

int
client_new_pssid(char *buf)
{
	unsigned char b[16];

	if (secret_random(b, sizeof(b)) < 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	    b[14], b[15]);
	return 0;
}

/* The audit event of a change to the client pssid. */
static int
audit_client(struct db *db, int64_t now, const char *actor, const char *action, const char *pssid)
{
	char object[96];

	snprintf(object, sizeof(object), "client:%s", pssid);
	return audit_append(db, now, actor, action, object, NULL);
}

static int
new_refresh(char *secret, char *hash)
{
	if (secret_new(CLIENT_REFRESH_PREFIX, secret) < 0)
		return ERR_DB;
	secret_hash(secret, strlen(secret), hash);
	return 0;
}

int
client_create(struct db *db, const char *pssid, const char *name, const char *labels,
    int64_t join_token_id, int64_t now, char *refresh)
{
	char hash[SECRET_HASH_STRLEN];
	int rv;

	if ((rv = new_refresh(refresh, hash)) < 0)
		return rv;
	return client_insert(db, pssid, name, labels, join_token_id, hash, now);
}

int
client_reset_refresh(struct db *db, const char *pssid, int64_t now, char *refresh)
{
	char hash[SECRET_HASH_STRLEN];
	int rv;

	if ((rv = new_refresh(refresh, hash)) < 0)
		return rv;
	return client_set_refresh(db, pssid, hash, now);
}

int
client_request_id_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= CLIENT_REQUEST_ID_MIN && n <= CLIENT_REQUEST_ID_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* The successor of secret: derived from it and request_id when there is one (a retry can
 * derive it again; only its hash is stored), else random. */
static int
successor(const char *secret, const char *request_id, char *fresh, char *hash)
{
	if (request_id == NULL)
		return new_refresh(fresh, hash);
	if (secret_derive(CLIENT_REFRESH_PREFIX, secret, request_id, fresh) < 0)
		return ERR_DB;
	secret_hash(fresh, strlen(fresh), hash);
	return 0;
}

/* Whether presenting the superseded secret s again is a retry of the exchange that superseded
 * it: the same request_id (its successor derives again to the stored hash), in time, and the
 * successor still the client's current secret (unused). 1 with *c and new_secret set, 0, err. */
static int
is_retry(struct db *db, const char *secret, const char *request_id,
    const struct client_superseded *s, int64_t now, struct client *c, char *new_secret)
{
	char hash[SECRET_HASH_STRLEN];
	int rv;

	if (request_id == NULL || s->successor_hash[0] == '\0' ||
	    now - s->superseded_at > CLIENT_RETRY_SECONDS)
		return 0;
	if ((rv = successor(secret, request_id, new_secret, hash)) < 0)
		return rv;
	if (strcmp(hash, s->successor_hash) != 0)
		return 0;
	if ((rv = client_get_by_refresh(db, hash, c)) < 0)
		return rv == ERR_NOT_FOUND ? 0 : rv;
	return strcmp(c->pssid, s->pssid) == 0 && c->revoked_at == 0 && c->enrolled;
}

int
client_refresh(struct db *db, const char *secret, const char *request_id, int64_t now,
    struct client *c, char *new_secret, int *retried)
{
	char hash[SECRET_HASH_STRLEN], fresh[SECRET_HASH_STRLEN];
	struct client_superseded s;
	int rv;

	*retried = 0;
	secret_hash(secret, strlen(secret), hash);
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = client_get_superseded(db, hash, &s)) == 0) {
		if ((rv = is_retry(db, secret, request_id, &s, now, c, new_secret)) < 0)
			goto fail;
		if (rv == 1) {
			/* The client did not get (or keep) the answer: the same one again. */
			*retried = 1;
			if ((rv = audit_client(db, now, s.pssid, "client.token_retry", s.pssid)) <
			    0)
				goto fail;
			return db_commit(db);
		}
		/* A secret that was already exchanged: someone kept a copy. Both holders lose. */
		if ((rv = client_revoke(
			 db, s.pssid, "refresh token reused", "theft-detection", now)) < 0)
			goto fail;
		if ((rv = client_get(db, s.pssid, c)) < 0 && rv != ERR_NOT_FOUND)
			goto fail;
		if ((rv = db_commit(db)) < 0)
			return rv;
		return ERR_GONE;
	}
	if (rv != ERR_NOT_FOUND)
		goto fail;
	if ((rv = client_get_by_refresh(db, hash, c)) < 0 || c->revoked_at != 0 || !c->enrolled) {
		rv = rv < 0 && rv != ERR_NOT_FOUND ? rv : ERR_DENIED;
		goto fail;
	}
	if ((rv = successor(secret, request_id, new_secret, fresh)) < 0 ||
	    (rv = client_rotate_refresh(db, c->pssid, hash, fresh, request_id != NULL, now)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
client_revoke(struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now)
{
	struct client c;
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = client_get(db, pssid, &c)) < 0)
		goto fail;
	if (c.revoked_at != 0)
		return db_commit(db);
	if ((rv = client_set_revoked(db, pssid, reason, now)) < 0 ||
	    (rv = revoke_pssid(db, pssid, reason, actor, now)) < 0 ||
	    (rv = audit_client(db, now, actor, "client.revoke", pssid)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
client_discard_unacknowledged(struct db *db, int64_t join_token_id, const char *actor, int64_t now)
{
	struct client c;
	int rv;

	if ((rv = client_get_by_join_token(db, join_token_id, &c)) < 0)
		return rv == ERR_NOT_FOUND ? 0 : rv;
	/* Its access token was valid until now: a tunnel may have taken an address, which the
	 * revocation releases. */
	if ((rv = client_delete(db, c.pssid)) < 0 ||
	    (rv = revoke_pssid_until(db, c.pssid, "enrollment not acknowledged", actor, now,
		 now + CLIENT_DISCARD_REVOKE_SECONDS)) < 0)
		return rv;
	return audit_client(db, now, actor, "client.discard", c.pssid);
}
