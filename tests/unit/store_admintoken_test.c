/* The store of admin tokens (db/admintoken.h) against a real SQLite file: create and its
 * conflicts, authentication by secret (expiry, use recorded at most once a minute), paging,
 * delete and the last admin token rule. */
#include <stdio.h>
#include <string.h>

#include "../../db/admintoken.h"
#include "../../db/db.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1700000000

static struct db *db;

static void
test_names(void)
{
	CHECK(admintoken_scope_parse("provision") == ADMINTOKEN_PROVISION &&
		strcmp(admintoken_scope_str(ADMINTOKEN_READ), "read") == 0,
	    "scopes to and from text");
	CHECK(admintoken_scope_parse("root") == -1 && strcmp(admintoken_scope_str(8), "none") == 0,
	    "an unknown scope");
	CHECK(admintoken_name_valid("ci") && !admintoken_name_valid("") &&
		!admintoken_name_valid("a\tb"),
	    "token names: not empty, no control characters");
}

int
main(void)
{
	struct admin_token admin, ro, t, v[4];
	char path[512], s_admin[SECRET_STRLEN], s_ro[SECRET_STRLEN], s[SECRET_STRLEN];
	int n;

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/store_admintoken.db", check_tmpdir());
	if (db_open(path, &db) < 0) {
		printf("not ok - cannot open %s\n", path);
		return 1;
	}
	test_names();

	CHECK(
	    admintoken_create(db, "root", ADMINTOKEN_ADMIN, 0, "boot", T0, &admin, s_admin) == 0 &&
		admin.id > 0 && admin.scope == ADMINTOKEN_ADMIN && admin.expires_at == 0 &&
		admin.created_at == T0 && strcmp(admin.created_by, "boot") == 0 &&
		strncmp(s_admin, ADMINTOKEN_PREFIX, strlen(ADMINTOKEN_PREFIX)) == 0,
	    "create an admin token without expiry; the secret has the prefix");
	CHECK(admintoken_create(db, "ro", ADMINTOKEN_READ, 100, "root", T0, &ro, s_ro) == 0 &&
		ro.expires_at == T0 + 100 && strcmp(s_ro, s_admin) != 0,
	    "create a read token with a ttl; another secret");
	CHECK_EQ_INT(admintoken_create(db, "ro", ADMINTOKEN_READ, 0, "root", T0, &t, s),
	    ERR_CONFLICT, "a taken name");

	CHECK(admintoken_authenticate(db, s_ro, T0 + 10, &t) == 0 && t.id == ro.id &&
		t.scope == ADMINTOKEN_READ && strcmp(t.name, "ro") == 0 &&
		t.last_used_at == T0 + 10,
	    "authenticate by secret records the use");
	CHECK(admintoken_authenticate(db, s_ro, T0 + 30, &t) == 0 && t.last_used_at == T0 + 10,
	    "a second use within a minute is not written");
	CHECK(admintoken_authenticate(db, s_ro, T0 + 70, &t) == 0 && t.last_used_at == T0 + 70,
	    "a minute later it is");
	CHECK_EQ_INT(admintoken_authenticate(db, s_ro, T0 + 100, &t), ERR_NOT_FOUND,
	    "an expired token does not authenticate");
	s_admin[5] = s_admin[5] == 'A' ? 'B' : 'A';
	CHECK_EQ_INT(admintoken_authenticate(db, s_admin, T0, &t), ERR_NOT_FOUND,
	    "a wrong secret does not authenticate");

	CHECK(admintoken_list(db, 0, 4, v, &n) == 0 && n == 2 && v[0].id == admin.id &&
		v[1].id == ro.id && v[1].last_used_at == T0 + 70 && v[1].expires_at == T0 + 100,
	    "list by id, as stored");
	CHECK(admintoken_list(db, admin.id, 1, v, &n) == 0 && n == 1 && v[0].id == ro.id,
	    "list: paged after the cursor");

	CHECK_EQ_INT(
	    admintoken_delete(db, admin.id, T0, &t), ERR_CONFLICT, "the last admin token stays");
	admintoken_create(db, "admin2", ADMINTOKEN_ADMIN, 50, "root", T0, &t, s);
	CHECK(admintoken_delete(db, admin.id, T0 + 49, &t) == 0 && t.id == admin.id &&
		strcmp(t.name, "root") == 0,
	    "with another unexpired admin token it goes, returning the record");
	admintoken_create(db, "root2", ADMINTOKEN_ADMIN, 0, "root", T0, &admin, s);
	CHECK(admintoken_delete(db, admin.id, T0 + 50, &t) == ERR_CONFLICT,
	    "an expired admin token does not count as another");
	CHECK(admintoken_delete(db, ro.id, T0, &t) == 0 && t.scope == ADMINTOKEN_READ,
	    "a read token goes");
	CHECK_EQ_INT(admintoken_delete(db, ro.id, T0, &t), ERR_NOT_FOUND, "delete twice");
	db_close(db);
	return check_done();
}
