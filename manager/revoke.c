#include "../db/db.h"
#include "../db/grant.h"
#include "../db/revocation.h"
#include "../lib/err.h"
#include "alloc.h"
#include "revoke.h"

int
revoke_pssid(struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now)
{
	return revoke_pssid_until(db, pssid, reason, actor, now, 0);
}

int
revoke_pssid_until(struct db *db, const char *pssid, const char *reason, const char *actor,
    int64_t now, int64_t expires_at)
{
	struct grant g;
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = revocation_add_until(db, pssid, reason, actor, now, expires_at)) < 0)
		goto fail;
	if ((rv = grant_by_pssid(db, pssid, &g)) == 0)
		rv = alloc_release(db, g.id, -1, actor, now);
	if (rv < 0 && rv != ERR_NOT_FOUND)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
revoke_sweep(struct db *db, int64_t now, int max)
{
	int n, rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((n = revocation_expire(db, now, max)) < 0) {
		db_rollback(db);
		return n;
	}
	return (rv = db_commit(db)) < 0 ? rv : n;
}
