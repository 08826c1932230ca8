/* The revocations (db/revocation.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../revocation.h"
#include "../agentdelta.h"
#include "../stmt.h"

#define REVOCATION_COLUMNS "id, pssid, reason, created_at, created_by, expires_at"

int
revocation_add(struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now)
{
	return revocation_add_until(db, pssid, reason, actor, now, 0);
}

int
revocation_add_until(struct db *db, const char *pssid, const char *reason, const char *actor,
    int64_t now, int64_t expires_at)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO revocations (pssid, reason, created_at, created_by, expires_at) VALUES "
	    "(:pssid, :reason, :now, :by, NULLIF(:exp, 0)) ON CONFLICT (pssid) DO NOTHING");
	int rv;

	db_bind_text(st, ":pssid", pssid);
	db_bind_text(st, ":reason", reason);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":by", actor);
	db_bind_int(st, ":exp", expires_at);
	if ((rv = db_run(st)) < 0 || db_changes(db) == 0)
		return rv;
	return agentdelta_add(db, AGENTDELTA_REVOKE, pssid, 0, 0, reason);
}

int
revocation_has(struct db *db, const char *pssid)
{
	struct stmt *st = db_stmt(db, "SELECT 1 FROM revocations WHERE pssid = :pssid");
	int rv;

	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_row(st)) == 1)
		db_reset(st);
	return rv;
}

static void
from_row(struct revocation *v, struct stmt *st)
{
	memset(v, 0, sizeof(*v));
	v->id = db_col_int(st, 0);
	snprintf(v->pssid, sizeof(v->pssid), "%s", db_col_text(st, 1));
	snprintf(v->reason, sizeof(v->reason), "%s", db_col_text(st, 2));
	v->created_at = db_col_int(st, 3);
	snprintf(v->created_by, sizeof(v->created_by), "%s", db_col_text(st, 4));
	v->expires_at = db_col_int(st, 5);
}

int
revocation_get(struct db *db, const char *pssid, struct revocation *out)
{
	struct stmt *st =
	    db_stmt(db, "SELECT " REVOCATION_COLUMNS " FROM revocations WHERE pssid = :pssid");
	int rv;

	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	from_row(out, st);
	db_reset(st);
	return 0;
}

int
revocation_list(
    struct db *db, const char *pssid, int64_t after, int limit, struct revocation *out, int *n)
{
	/* Two statements: "(:pssid IS NULL OR pssid = :pssid)" walks the whole id range. */
	struct stmt *st = pssid == NULL
	    ? db_stmt(db,
		  "SELECT " REVOCATION_COLUMNS " FROM revocations WHERE id > :after "
		  "ORDER BY id LIMIT :limit")
	    : db_stmt(db,
		  "SELECT " REVOCATION_COLUMNS " FROM revocations WHERE pssid = :pssid AND "
		  "id > :after LIMIT :limit");
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	if (pssid != NULL)
		db_bind_text(st, ":pssid", pssid);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		from_row(&out[(*n)++], st);
	return rv;
}

int
revocation_remove(struct db *db, const char *pssid)
{
	struct stmt *st = db_stmt(db, "DELETE FROM revocations WHERE pssid = :pssid");
	int rv;

	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_run_one(db, st)) < 0)
		return rv;
	return agentdelta_add(db, AGENTDELTA_UNREVOKE, pssid, 0, 0, NULL);
}

int
revocation_expire(struct db *db, int64_t now, int max)
{
	struct stmt *st = db_stmt(db,
	    "SELECT pssid FROM revocations WHERE expires_at IS NOT NULL AND expires_at <= :now "
	    "ORDER BY expires_at LIMIT :max");
	char(*pssids)[PSSID_MAX + 1];
	int n = 0, rv = 0;

	if ((pssids = calloc((size_t)max, sizeof(*pssids))) == NULL)
		return ERR_NOMEM;
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":max", max);
	while (n < max && (rv = db_row(st)) == 1)
		snprintf(pssids[n++], sizeof(pssids[0]), "%s", db_col_text(st, 0));
	if (rv == 1)
		db_reset(st);
	for (int i = 0; rv >= 0 && i < n; i++)
		rv = revocation_remove(db, pssids[i]);
	free(pssids);
	return rv < 0 ? rv : n;
}
