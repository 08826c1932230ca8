#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../db/db.h"
#include "../db/sqlite/stmt.h"
#include "../lib/err.h"
#include "../lib/text.h"
#include "../lib/log.h"
#include "admintoken.h"
#include "audit.h"
#include "http.h"

#define TOUCH_INTERVAL 60

#define TOKEN_COLUMNS "id, name, scope, created_at, expires_at, last_used_at, created_by"

static const struct {
	int bit;
	const char *name;
} scopes[] = {
    {SCOPE_ADMIN, "admin"},
    {SCOPE_READ, "read"},
    {SCOPE_PROVISION, "provision"},
};

const char *
admintoken_scope_str(int scope)
{
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (scopes[i].bit == scope)
			return scopes[i].name;
	return "none";
}

int
admintoken_scope_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (strcmp(scopes[i].name, s) == 0)
			return scopes[i].bit;
	return -1;
}

int
admintoken_name_valid(const char *s)
{
	return text_name_valid(s, ADMINTOKEN_NAME_MAX, 0);
}

static void
from_row(struct admin_token *t, sqlite3_stmt *st)
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
	sqlite3_stmt *st;
	char hash[SECRET_HASH_STRLEN];
	int rv;

	if (secret_new(ADMINTOKEN_PREFIX, secret) < 0)
		return ERR_DB;
	secret_hash(secret, strlen(secret), hash);
	st = db_stmt(db,
	    "INSERT INTO admin_tokens (name, scope, hash, created_at, expires_at, "
	    "created_by) VALUES (:name, :scope, :hash, :now, :expires, :by)");
	db_bind_text(st, ":name", name);
	db_bind_text(st, ":scope", admintoken_scope_str(scope));
	db_bind_text(st, ":hash", hash);
	db_bind_int(st, ":now", now);
	if (ttl > 0)
		db_bind_int(st, ":expires", now + ttl);
	db_bind_text(st, ":by", created_by);
	if ((rv = db_run(st)) < 0)
		return rv;
	memset(out, 0, sizeof(*out));
	out->id = db_last_id(db);
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
	sqlite3_stmt *st;
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
	from_row(out, st);
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
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT " TOKEN_COLUMNS " FROM admin_tokens WHERE "
	    "id > :after ORDER BY id LIMIT :limit");
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		from_row(&out[(*n)++], st);
	return rv;
}

int
admintoken_delete(struct db *db, int64_t id, int64_t now, struct admin_token *deleted)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT " TOKEN_COLUMNS " FROM admin_tokens WHERE id = :id");
	int rv;

	db_bind_int(st, ":id", id);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	from_row(deleted, st);
	db_reset(st);
	if (deleted->scope == SCOPE_ADMIN) {
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

/* Write the token file beside and rename it into place, syncing file and directory: after a
 * crash the file is either absent or whole. */
static int
write_token_file(const char *state_dir, const char *secret)
{
	char path[4096], tmp[4100];
	int fd, dfd, ok;

	snprintf(path, sizeof(path), "%s/admin.token", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	ok = write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret) &&
	    write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	close(fd);
	if (ok && rename(tmp, path) == 0 &&
	    (dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		ok = fsync(dfd) == 0;
		close(dfd);
	} else {
		ok = 0;
	}
	if (!ok)
		log_error("cannot write %s: %s", path, strerror(errno));
	return ok ? 0 : -1;
}

int
admintoken_bootstrap(struct db *db, const char *state_dir, int64_t now)
{
	struct admin_token t;
	char secret[SECRET_STRLEN], done[8], object[48];
	int rv;

	if (db_meta_get(db, "bootstrapped", done, sizeof(done)) == 0)
		return 0;
	/* The file is written before the commit: a crash in between leaves a token file whose
	 * token does not exist, and the next start makes a new one. Never the reverse. */
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = admintoken_create(
		 db, "bootstrap", SCOPE_ADMIN, 0, "snaptun-manager", now, &t, secret)) < 0 ||
	    (rv = db_meta_set(db, "bootstrapped", "1")) < 0 ||
	    snprintf(object, sizeof(object), "admin_token:%lld", (long long)t.id) < 0 ||
	    (rv = audit_append(db, now, "snaptun-manager", "admin_token.create", object, NULL)) <
		0 ||
	    (rv = write_token_file(state_dir, secret)) < 0) {
		db_rollback(db);
		return rv < 0 ? rv : ERR_DB;
	}
	if ((rv = db_commit(db)) < 0)
		return rv;
	printf("snaptun-manager: bootstrap admin token (shown once, also in %s/admin.token):\n"
	       "%s\n",
	    state_dir, secret);
	fflush(stdout);
	return 0;
}
