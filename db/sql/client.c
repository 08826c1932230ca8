/* The clients and their superseded refresh secrets (db/client.h). */
#include <stdio.h>
#include <string.h>

#include "../../lib/err.h"
#include "../client.h"
#include "labels.h"
#include "../stmt.h"

/* enrolled: the join token is consumed; a client without one was never on probation. */
#define CLIENT_SELECT \
	"SELECT c.id, c.pssid, c.name, c.labels, c.join_token_id, c.created_at, c.updated_at, " \
	"c.revoked_at, c.revoke_reason, coalesce((SELECT CASE WHEN state = 'consumed' THEN 1 " \
	"ELSE 0 END FROM join_tokens WHERE id = c.join_token_id), 1), (SELECT pool_id FROM join_tokens " \
	"WHERE id = c.join_token_id) FROM clients c"

static void
row_read(void *out, struct stmt *st)
{
	struct client *c = out;

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
	c->pool_id = db_col_int(st, 10);
}

int
client_insert(struct db *db, const char *pssid, const char *name, const char *labels,
    int64_t join_token_id, const char *refresh_hash, int64_t now)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO clients (pssid, name, labels, join_token_id, refresh_hash, "
	    "created_at, updated_at) VALUES (:pssid, :name, :labels, :jt, :hash, "
	    ":now, :now)");

	db_bind_text(st, ":pssid", pssid);
	db_bind_text(st, ":name", name);
	db_bind_text(st, ":labels", labels);
	if (join_token_id > 0)
		db_bind_int(st, ":jt", join_token_id);
	db_bind_text(st, ":hash", refresh_hash);
	db_bind_int(st, ":now", now);
	return db_run(st);
}

int
client_get(struct db *db, const char *pssid, struct client *c)
{
	struct stmt *st = db_stmt(db, CLIENT_SELECT " WHERE c.pssid = :pssid");

	db_bind_text(st, ":pssid", pssid);
	return db_row_one(st, row_read, c);
}

int
client_get_by_join_token(struct db *db, int64_t join_token_id, struct client *c)
{
	struct stmt *st = db_stmt(db, CLIENT_SELECT " WHERE c.join_token_id = :jt");

	db_bind_int(st, ":jt", join_token_id);
	return db_row_one(st, row_read, c);
}

int
client_get_by_refresh(struct db *db, const char *refresh_hash, struct client *c)
{
	struct stmt *st = db_stmt(db, CLIENT_SELECT " WHERE c.refresh_hash = :hash");

	db_bind_text(st, ":hash", refresh_hash);
	return db_row_one(st, row_read, c);
}

int
client_count(struct db *db, int64_t *active, int64_t *revoked)
{
	struct stmt *st = db_stmt(db,
	    "SELECT coalesce(sum(CASE WHEN c.revoked_at IS NULL AND coalesce((SELECT state = "
	    "'consumed' FROM join_tokens WHERE id = c.join_token_id), TRUE) THEN 1 ELSE 0 END), 0), "
	    "coalesce(sum(CASE WHEN c.revoked_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM clients c");
	int rv;

	if ((rv = db_row(st)) < 0)
		return rv;
	*active = db_col_int(st, 0);
	*revoked = db_col_int(st, 1);
	db_reset(st);
	return 0;
}

int
client_list(struct db *db, const struct client_filter *f, int64_t after, int limit,
    struct client *out, int *n)
{
#define CLIENT_LIST(labels_match) \
	CLIENT_SELECT " WHERE c.id > :after AND (:revoked IS NULL OR (CASE WHEN c.revoked_at IS " \
		      "NOT NULL THEN 1 ELSE 0 END) = :revoked) AND " labels_match \
		      " ORDER BY c.id LIMIT :limit"
	static const char *const sql[] = {
	    [DB_DIALECT_SQLITE] = CLIENT_LIST(LABELS_MATCH_SQLITE("c.labels")),
	    [DB_DIALECT_PG] = CLIENT_LIST(LABELS_MATCH_PG("c.labels")),
	};
	struct stmt *st = db_stmt(db, sql[db_dialect(db)]);
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	if (f->revoked >= 0)
		db_bind_int(st, ":revoked", f->revoked);
	db_bind_text(st, ":key", f->label_key);
	db_bind_text(st, ":value", f->label_value);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		row_read(&out[(*n)++], st);
	return rv;
}

int
client_update(struct db *db, const char *pssid, const char *name, const char *labels, int64_t now)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE clients SET name = coalesce(:name, name), labels = "
	    "coalesce(:labels, labels), updated_at = :now WHERE pssid = "
	    ":pssid");

	db_bind_text(st, ":name", name);
	db_bind_text(st, ":labels", labels);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":pssid", pssid);
	return db_run_one(db, st);
}

int
client_set_refresh(struct db *db, const char *pssid, const char *refresh_hash, int64_t now)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE clients SET refresh_hash = :hash, updated_at = :now WHERE "
	    "pssid = :pssid AND revoked_at IS NULL");

	db_bind_text(st, ":hash", refresh_hash);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":pssid", pssid);
	return db_run_one(db, st);
}

int
client_rotate_refresh(struct db *db, const char *pssid, const char *old_hash, const char *new_hash,
    int retriable, int64_t now)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE clients SET refresh_hash = :fresh, updated_at = :now WHERE "
	    "pssid = :pssid AND refresh_hash = :hash");
	int rv;

	db_bind_text(st, ":fresh", new_hash);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":pssid", pssid);
	db_bind_text(st, ":hash", old_hash);
	if ((rv = db_run_one(db, st)) < 0)
		return rv;
	st = db_stmt(db,
	    "INSERT INTO superseded_refresh (hash, pssid, superseded_at, successor_hash) "
	    "VALUES (:hash, :pssid, :now, :successor)");
	db_bind_text(st, ":hash", old_hash);
	db_bind_text(st, ":pssid", pssid);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":successor", retriable ? new_hash : NULL);
	return db_run(st);
}

int
client_get_superseded(struct db *db, const char *refresh_hash, struct client_superseded *s)
{
	struct stmt *st = db_stmt(db,
	    "SELECT pssid, coalesce(successor_hash, ''), superseded_at FROM superseded_refresh "
	    "WHERE hash = :hash");
	int rv;

	db_bind_text(st, ":hash", refresh_hash);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	snprintf(s->pssid, sizeof(s->pssid), "%s", db_col_text(st, 0));
	snprintf(s->successor_hash, sizeof(s->successor_hash), "%s", db_col_text(st, 1));
	s->superseded_at = db_col_int(st, 2);
	db_reset(st);
	return 0;
}

int
client_set_revoked(struct db *db, const char *pssid, const char *reason, int64_t now)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE clients SET revoked_at = :now, revoke_reason = :reason, "
	    "refresh_hash = NULL, updated_at = :now WHERE pssid = :pssid");

	db_bind_int(st, ":now", now);
	db_bind_text(st, ":reason", reason);
	db_bind_text(st, ":pssid", pssid);
	return db_run_one(db, st);
}

int
client_delete(struct db *db, const char *pssid)
{
	struct stmt *st = db_stmt(db, "DELETE FROM clients WHERE pssid = :pssid");

	db_bind_text(st, ":pssid", pssid);
	return db_run_one(db, st);
}
