/* The store's revocations (db/revocation.h) against a real SQLite file: insert (a second one of
 * the same pssid keeps the first), lookup, the list's paging and pssid filter, delete, expiry. */
#include <stdio.h>
#include <string.h>

#include "../../db/db.h"
#include "../../db/revocation.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1700000000

int
main(void)
{
	struct revocation v[8], r;
	struct db *db;
	char path[512];
	int n;

	log_set_level(LOG_WARN);
	snprintf(path, sizeof(path), "%s/store_revocation.db", check_tmpdir());
	if (db_open(path, &db) < 0)
		return 1;

	CHECK(revocation_add(db, "p-1", "lost", "alice", T0) == 0 &&
		revocation_add(db, "p-2", "stolen", "bob", T0 + 1) == 0 &&
		revocation_add(db, "p-3", "retired", "alice", T0 + 2) == 0,
	    "revoke three pssids");
	CHECK_EQ_INT(revocation_add(db, "p-1", "again", "carol", T0 + 5), 0,
	    "revoking a revoked pssid is no error");
	CHECK(revocation_get(db, "p-1", &r) == 0 && strcmp(r.reason, "lost") == 0 &&
		strcmp(r.created_by, "alice") == 0 && r.created_at == T0,
	    "and keeps the first revocation as it was");
	CHECK(revocation_has(db, "p-2") == 1 && revocation_has(db, "p-9") == 0,
	    "has: 1 for a revoked pssid, 0 for another");
	CHECK_EQ_INT(revocation_get(db, "p-9", &r), ERR_NOT_FOUND, "get of an unrevoked pssid");

	CHECK(revocation_list(db, NULL, 0, 2, v, &n) == 0 && n == 2 &&
		strcmp(v[0].pssid, "p-1") == 0 && strcmp(v[1].pssid, "p-2") == 0 &&
		v[0].id < v[1].id,
	    "list by id, at most the limit");
	CHECK(revocation_list(db, NULL, v[1].id, 2, v, &n) == 0 && n == 1 &&
		strcmp(v[0].pssid, "p-3") == 0 && strcmp(v[0].reason, "retired") == 0,
	    "the next page starts after the last id");
	CHECK(revocation_list(db, NULL, v[0].id, 2, v, &n) == 0 && n == 0, "and ends empty");
	CHECK(revocation_list(db, "p-2", 0, 8, v, &n) == 0 && n == 1 &&
		strcmp(v[0].pssid, "p-2") == 0,
	    "filtered by pssid");
	CHECK(revocation_list(db, "p-2", v[0].id, 8, v, &n) == 0 && n == 0,
	    "filtered by pssid, after its own id");

	CHECK_EQ_INT(revocation_remove(db, "p-2"), 0, "lift a revocation");
	CHECK(revocation_has(db, "p-2") == 0 && revocation_get(db, "p-2", &r) == ERR_NOT_FOUND,
	    "the pssid is no longer revoked");
	CHECK_EQ_INT(revocation_remove(db, "p-2"), ERR_NOT_FOUND, "lifting it twice");
	CHECK(revocation_add(db, "p-2", "again", "bob", T0 + 9) == 0 &&
		revocation_list(db, NULL, 0, 8, v, &n) == 0 && n == 3 &&
		strcmp(v[2].pssid, "p-2") == 0,
	    "revoked again, it comes last in the list (a new id)");

	/* revocations that expire */
	CHECK(revocation_add_until(db, "t-1", "unacked", "sweeper", T0 + 10, T0 + 100) == 0 &&
		revocation_add_until(db, "t-2", "unacked", "sweeper", T0 + 10, T0 + 50) == 0 &&
		revocation_add_until(db, "t-3", "unacked", "sweeper", T0 + 10, T0 + 200) == 0,
	    "revoke three pssids until a time");
	CHECK(revocation_get(db, "t-1", &r) == 0 && r.expires_at == T0 + 100 &&
		revocation_get(db, "p-1", &r) == 0 && r.expires_at == 0,
	    "get shows the expiry (0: never)");
	CHECK_EQ_INT(revocation_expire(db, T0 + 49, 8), 0, "none is due before its expiry");
	CHECK_EQ_INT(revocation_expire(db, T0 + 100, 1), 1, "at most max are lifted");
	CHECK(revocation_has(db, "t-2") == 0 && revocation_has(db, "t-1") == 1,
	    "the soonest expiry first");
	CHECK_EQ_INT(revocation_expire(db, T0 + 100, 8), 1, "the next one due");
	CHECK(revocation_has(db, "t-1") == 0 && revocation_has(db, "t-3") == 1,
	    "one not due yet stays");
	CHECK(revocation_expire(db, T0 + 999999, 8) == 1 &&
		revocation_list(db, NULL, 0, 8, v, &n) == 0 && n == 3,
	    "revocations without expiry never go");
	db_close(db);
	return check_done();
}
