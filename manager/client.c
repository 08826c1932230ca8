#include <stdio.h>
#include <string.h>

#include "../db/db.h"
#include "../db/sqlite/stmt.h"
#include "../lib/err.h"
#include "../lib/text.h"
#include "alloc.h"
#include "../db/audit.h"
#include "client.h"
#include "../db/grant.h"
#include "revocation.h"

#define CLIENT_COLUMNS \
	"c.id, c.pssid, c.name, c.labels, c.join_token_id, c.created_at, c.updated_at, " \
	"c.revoked_at, c.revoke_reason, " \
	"coalesce((SELECT state = 'consumed' FROM join_tokens WHERE id = c.join_token_id), 1)"

int
client_name_valid(const char *s)
{
	return text_name_valid(s, CLIENT_NAME_MAX, 0);
}

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

static void
from_row(struct client *c, sqlite3_stmt *st)
{
	memset(c, 0, sizeof(*c));
	c->id = db_col_int(st, 0);
	snprintf(c->pssid, sizeof(c->pssid), "%s", db_col_text(st, 1));
	snprintf(c->name, sizeof(c->name), "%s", db_col_text(st, 2));
	snprintf(c->labels, sizeof(c->labels), "%s", db_col_text(st, 3));
	c->join_token_id = db_col_int(st, 4);
	c->created_at = db_col_int(st, 5);
	c->updated_at = db_col_int(st, 6);
	c->revoked_at = db_col_int(st, 7);
	snprintf(c->revoke_reason, sizeof(c->revoke_reason), "%s", db_col_text(st, 8));
	c->enrolled = (int)db_col_int(st, 9);
}

static int
one(sqlite3_stmt *st, struct client *c)
{
	int rv = db_row(st);

	if (rv <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	from_row(c, st);
	db_reset(st);
	return 0;
}

int
client_get(struct db *db, const char *pssid, struct client *c)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT " CLIENT_COLUMNS " FROM clients c WHERE "
	    "c.pssid = :pssid");

	db_bind_text(st, ":pssid", pssid);
	return one(st, c);
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
	sqlite3_stmt *st;
	char hash[SECRET_HASH_STRLEN];
	int rv;

	if ((rv = new_refresh(refresh, hash)) < 0)
		return rv;
	st = db_stmt(db,
	    "INSERT INTO clients (pssid, name, labels, join_token_id, refresh_hash, "
	    "created_at, updated_at) VALUES (:pssid, :name, :labels, :jt, :hash, "
	    ":now, :now)");
	db_bind_text(st, ":pssid", pssid);
	db_bind_text(st, ":name", name);
	db_bind_text(st, ":labels", labels);
	if (join_token_id > 0)
		db_bind_int(st, ":jt", join_token_id);
	db_bind_text(st, ":hash", hash);
	db_bind_int(st, ":now", now);
	return db_run(st);
}

int
client_reset_refresh(struct db *db, const char *pssid, int64_t now, char *refresh)
{
	sqlite3_stmt *st;
	char hash[SECRET_HASH_STRLEN];
	int rv;

	if ((rv = new_refresh(refresh, hash)) < 0)
		return rv;
	st = db_stmt(db,
	    "UPDATE clients SET refresh_hash = :hash, updated_at = :now WHERE "
	    "pssid = :pssid AND revoked_at IS NULL");
	db_bind_text(st, ":hash", hash);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_run(st)) < 0)
		return rv;
	return db_changes(db) == 1 ? 0 : ERR_NOT_FOUND;
}

int
client_refresh(struct db *db, const char *secret, int64_t now, struct client *c, char *new_secret)
{
	char hash[SECRET_HASH_STRLEN], fresh[SECRET_HASH_STRLEN], pssid[PSSID_MAX + 1];
	sqlite3_stmt *st;
	int rv;

	secret_hash(secret, strlen(secret), hash);
	if ((rv = db_begin(db)) < 0)
		return rv;
	st = db_stmt(db, "SELECT pssid FROM superseded_refresh WHERE hash = :hash");
	db_bind_text(st, ":hash", hash);
	if ((rv = db_row(st)) == 1) {
		/* A secret that was already exchanged: someone kept a copy. Both holders lose. */
		snprintf(pssid, sizeof(pssid), "%s", db_col_text(st, 0));
		db_reset(st);
		if ((rv = client_revoke(
			 db, pssid, "refresh token reused", "theft-detection", now)) < 0)
			goto fail;
		if ((rv = client_get(db, pssid, c)) < 0 && rv != ERR_NOT_FOUND)
			goto fail;
		if ((rv = db_commit(db)) < 0)
			return rv;
		return ERR_GONE;
	}
	if (rv < 0)
		goto fail;
	st = db_stmt(db, "SELECT " CLIENT_COLUMNS " FROM clients c WHERE c.refresh_hash = :hash");
	db_bind_text(st, ":hash", hash);
	if ((rv = one(st, c)) < 0 || c->revoked_at != 0 || !c->enrolled) {
		rv = rv < 0 && rv != ERR_NOT_FOUND ? rv : ERR_DENIED;
		goto fail;
	}
	if ((rv = new_refresh(new_secret, fresh)) < 0)
		goto fail;
	st = db_stmt(db,
	    "UPDATE clients SET refresh_hash = :fresh, updated_at = :now WHERE "
	    "pssid = :pssid AND refresh_hash = :hash");
	db_bind_text(st, ":fresh", fresh);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":pssid", c->pssid);
	db_bind_text(st, ":hash", hash);
	if ((rv = db_run(st)) < 0)
		goto fail;
	st = db_stmt(db,
	    "INSERT INTO superseded_refresh (hash, pssid, superseded_at) VALUES "
	    "(:hash, :pssid, :now)");
	db_bind_text(st, ":hash", hash);
	db_bind_text(st, ":pssid", c->pssid);
	db_bind_int(st, ":now", now);
	if ((rv = db_run(st)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
client_list(struct db *db, const struct client_filter *f, int64_t after, int limit,
    struct client *out, int *n)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT " CLIENT_COLUMNS " FROM clients c WHERE c.id > :after AND "
	    "(:revoked IS NULL OR (c.revoked_at IS NOT NULL) = :revoked) AND "
	    "(:key IS NULL OR EXISTS (SELECT 1 FROM json_each(c.labels) WHERE json_each.key = "
	    ":key AND (:value IS NULL OR json_each.value = :value))) ORDER BY c.id LIMIT :limit");
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	if (f->revoked >= 0)
		db_bind_int(st, ":revoked", f->revoked);
	db_bind_text(st, ":key", f->label_key);
	db_bind_text(st, ":value", f->label_value);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		from_row(&out[(*n)++], st);
	return rv;
}

int
client_update(struct db *db, const char *pssid, const char *name, const char *labels, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db,
	    "UPDATE clients SET name = coalesce(:name, name), labels = "
	    "coalesce(:labels, labels), updated_at = :now WHERE pssid = "
	    ":pssid");
	int rv;

	db_bind_text(st, ":name", name);
	db_bind_text(st, ":labels", labels);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_run(st)) < 0)
		return rv;
	return db_changes(db) == 1 ? 0 : ERR_NOT_FOUND;
}

int
client_revoke(struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now)
{
	sqlite3_stmt *st;
	struct client c;
	struct grant g;
	char object[96];
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = client_get(db, pssid, &c)) < 0 || c.revoked_at != 0)
		goto done;
	st = db_stmt(db,
	    "UPDATE clients SET revoked_at = :now, revoke_reason = :reason, "
	    "refresh_hash = NULL, updated_at = :now WHERE pssid = :pssid");
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":reason", reason);
	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_run(st)) < 0 || (rv = revocation_add(db, pssid, reason, actor, now)) < 0)
		goto fail;
	if ((rv = grant_by_pssid(db, pssid, &g)) == 0)
		rv = alloc_release(db, g.id, -1, actor, now);
	if (rv < 0 && rv != ERR_NOT_FOUND)
		goto fail;
	snprintf(object, sizeof(object), "client:%s", pssid);
	if ((rv = audit_append(db, now, actor, "client.revoke", object, NULL)) < 0)
		goto fail;
	rv = 0;
done:
	if (rv < 0) {
		db_rollback(db);
		return rv;
	}
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
client_discard_unacknowledged(struct db *db, int64_t join_token_id, const char *actor, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT pssid FROM clients WHERE join_token_id = :jt");
	char pssid[PSSID_MAX + 1], object[96];
	struct grant g;
	int rv;

	db_bind_int(st, ":jt", join_token_id);
	if ((rv = db_row(st)) <= 0)
		return rv;
	snprintf(pssid, sizeof(pssid), "%s", db_col_text(st, 0));
	db_reset(st);
	st = db_stmt(db, "DELETE FROM clients WHERE pssid = :pssid");
	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_run(st)) < 0 ||
	    (rv = revocation_add(db, pssid, "enrollment not acknowledged", actor, now)) < 0)
		return rv;
	/* Its access token was valid until now: a tunnel may have taken an address. */
	if ((rv = grant_by_pssid(db, pssid, &g)) == 0)
		rv = alloc_release(db, g.id, -1, actor, now);
	if (rv < 0 && rv != ERR_NOT_FOUND)
		return rv;
	snprintf(object, sizeof(object), "client:%s", pssid);
	return audit_append(db, now, actor, "client.discard", object, NULL);
}
