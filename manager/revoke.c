#include "../db/db.h"
#include "../db/grant.h"
#include "../db/revocation.h"
#include "../lib/err.h"
#include "alloc.h"
#include "revoke.h"

int
revoke_pssid(struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now)
{
	struct grant g;
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = revocation_add(db, pssid, reason, actor, now)) < 0)
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
