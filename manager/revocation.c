#include "../db/db.h"
#include "revocation.h"

int
revocation_add(struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db,
	    "INSERT OR IGNORE INTO revocations (pssid, reason, "
	    "created_at, created_by) VALUES (:pssid, :reason, :now, :by)");

	db_bind_text(st, ":pssid", pssid);
	db_bind_text(st, ":reason", reason);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":by", actor);
	return db_run(st);
}

int
revocation_has(struct db *db, const char *pssid)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT 1 FROM revocations WHERE pssid = :pssid");
	int rv;

	db_bind_text(st, ":pssid", pssid);
	if ((rv = db_row(st)) == 1)
		db_reset(st);
	return rv;
}
