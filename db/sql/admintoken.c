/* The store of admin tokens (db/admintoken.h). */
#include <stdio.h>
#include <string.h>

#include "../../lib/err.h"
#include "../admintoken.h"
#include "../stmt.h"

#define TOUCH_INTERVAL 60

#define TOKEN_COLUMNS "id, name, scope, created_at, expires_at, last_used_at, created_by"

static void
token_from_row(struct admin_token *t, struct stmt *st)
{
	memset(t, 0, sizeof(*t));
	t->id = db_col_int(st, 0);
	snprintf(t->name, sizeof(t->name), "%s", db_col_text(st, 1));
	t->scope = admintoken_scope_parse(db_col_text(st, 2));
	t->created_at = db_col_int(st, 3);
	t->expires_at = db_col_int(st, 4);
	t->last_used_at = db_col_int(st, 5);
	snprintf(t->created_by, sizeof(t->created_by), "%s", db_col_text(st, 6));
}

int
admintoken_create(struct db *db, const char *name, int scope, int64_t ttl, const char *created_by,
    int64_t now, struct admin_token *out, char *secret)
{
	struct stmt *st;
	char hash[SECRET_HASH_STRLEN];
	int rv;

	if (secret_new(ADMINTOKEN_PREFIX, secret) < 0)
		return ERR_DB;
	secret_hash(secret, strlen(secret), hash);
	st = db_stmt(db,
	    "INSERT INTO admin_tokens (name, scope, hash, created_at, expires_at, "
	    "created_by) VALUES (:name, :scope, :hash, :now, :expires, :by) RETURNING id");
	db_bind_text(st, ":name", name);
	db_bind_text(st, ":scope", admintoken_scope_str(scope));
	db_bind_text(st, ":hash", hash);
	db_bind_int(st, ":now", now);
	if (ttl > 0)
		db_bind_int(st, ":expires", now + ttl);
	db_bind_text(st, ":by", created_by);
	memset(out, 0, sizeof(*out));
	if ((rv = db_insert_id(st, &out->id)) < 0)
		return rv;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->scope = scope;
	out->created_at = now;
	out->expires_at = ttl > 0 ? now + ttl : 0;
	snprintf(out->created_by, sizeof(out->created_by), "%s", created_by);
	return 0;
}

int
admintoken_authenticate(struct db *db, const char *secret, int64_t now, struct admin_token *out)
{
	struct stmt *st;
	char hash[SECRET_HASH_STRLEN];
	int rv;

	/* Looking up by the hash reveals nothing about the secret through timing. */
	secret_hash(secret, strlen(secret), hash);
	st = db_stmt(db,
	    "SELECT " TOKEN_COLUMNS " FROM admin_tokens WHERE hash = :hash AND "
	    "(expires_at IS NULL OR expires_at > :now)");
	db_bind_text(st, ":hash", hash);
	db_bind_int(st, ":now", now);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	token_from_row(out, st);
	db_reset(st);
	if (now - out->last_used_at >= TOUCH_INTERVAL) {
		st = db_stmt(db, "UPDATE admin_tokens SET last_used_at = :now WHERE id = :id");
		db_bind_int(st, ":now", now);
		db_bind_int(st, ":id", out->id);
		/* Bookkeeping only: a busy store must not fail the request. */
		if (db_run(st) == 0)
			out->last_used_at = now;
	}
	return 0;
}

int
admintoken_list(struct db *db, int64_t after, int limit, struct admin_token *out, int *n)
{
	struct stmt *st = db_stmt(db,
	    "SELECT " TOKEN_COLUMNS " FROM admin_tokens WHERE "
	    "id > :after ORDER BY id LIMIT :limit");
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		token_from_row(&out[(*n)++], st);
	return rv;
}

int
admintoken_delete(struct db *db, int64_t id, int64_t now, struct admin_token *deleted)
{
	struct stmt *st = db_stmt(db, "SELECT " TOKEN_COLUMNS " FROM admin_tokens WHERE id = :id");
	int rv;

	db_bind_int(st, ":id", id);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	token_from_row(deleted, st);
	db_reset(st);
	if (deleted->scope == ADMINTOKEN_ADMIN) {
		st = db_stmt(db,
		    "SELECT count(*) FROM admin_tokens WHERE scope = 'admin' AND "
		    "id != :id AND (expires_at IS NULL OR expires_at > :now)");
		db_bind_int(st, ":id", id);
		db_bind_int(st, ":now", now);
		if ((rv = db_row(st)) < 0)
			return rv;
		rv = db_col_int(st, 0) == 0;
		db_reset(st);
		if (rv)
			return ERR_CONFLICT;
	}
	st = db_stmt(db, "DELETE FROM admin_tokens WHERE id = :id");
	db_bind_int(st, ":id", id);
	return db_run(st);
}
