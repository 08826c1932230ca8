/* Nested transaction levels as every record module uses them, on a real SQLite file or on the
 * store SNAPTUN_TEST_STORE names (a new PostgreSQL database: tests/e2e/pg_units_test.sh runs
 * this test there, where a committed level's RELEASE SAVEPOINT waits for the next command and
 * is never sent before a COMMIT, a ROLLBACK or the ROLLBACK TO of an outer level): levels
 * committed one after another all count; an outer rollback undoes committed levels; a level
 * refused before it wrote costs the rest nothing; a level undone after it wrote loses its own
 * writes and a deeper committed level's (PostgreSQL undoes just those, SQLite dooms the whole
 * transaction); a read right after a committed level sees its writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/db.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

static struct db *db;

static int
meta_is(const char *key, const char *want)
{
	char buf[32];

	if (db_meta_get(db, key, buf, sizeof(buf)) < 0)
		return want == NULL;
	return want != NULL && strcmp(buf, want) == 0;
}

/* One nested level that writes key = value and commits: 0 or err. */
static int
level_write(const char *key, const char *value)
{
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = db_meta_set(db, key, value)) < 0) {
		db_rollback(db);
		return rv;
	}
	return db_commit(db);
}

static void
test_siblings(void)
{
	int rv = db_begin(db);

	for (int i = 0; rv == 0 && i < 5; i++) {
		char key[16];

		snprintf(key, sizeof(key), "s%d", i);
		rv = level_write(key, "1");
	}
	CHECK(rv == 0 && meta_is("s4", "1"), "five levels one after another, each read back");
	CHECK(db_commit(db) == 0 && meta_is("s0", "1") && meta_is("s4", "1"),
	    "and all of them are kept by the commit");
}

static void
test_outer_rollback(void)
{
	CHECK(db_begin(db) == 0 && level_write("r1", "1") == 0 && level_write("r2", "1") == 0,
	    "two committed levels ...");
	db_rollback(db);
	CHECK(!db_in_tx(db) && meta_is("r1", NULL) && meta_is("r2", NULL),
	    "... are undone by the outer rollback");
}

static void
test_refused_level(void)
{
	CHECK(db_begin(db) == 0 && level_write("f1", "1") == 0 && db_begin(db) == 0,
	    "a committed level, then one more ...");
	db_rollback(db); /* refused before it wrote */
	CHECK(level_write("f2", "1") == 0 && db_commit(db) == 0 && meta_is("f1", "1") &&
		meta_is("f2", "1"),
	    "... refused before it wrote costs the others nothing");
}

static void
test_undone_level(void)
{
	int rv;

	CHECK(db_begin(db) == 0 && db_meta_set(db, "u0", "1") == 0 && db_begin(db) == 0 &&
		db_meta_set(db, "u1", "1") == 0 && level_write("u2", "1") == 0,
	    "a level that wrote, with a committed level inside it ...");
	check_expect_begin();
	db_rollback(db);
	rv = db_commit(db);
	check_expect_end();
	CHECK(meta_is("u1", NULL) && meta_is("u2", NULL),
	    "... undone: neither its writes nor the inner level's are kept");
	CHECK((rv == 0 && meta_is("u0", "1")) || (rv == ERR_DB && meta_is("u0", NULL)),
	    "and the outer transaction keeps its own write, or is refused whole (rv %d)", rv);
	CHECK(!db_in_tx(db) && db_begin(db) == 0 && level_write("u3", "1") == 0 &&
		db_commit(db) == 0 && meta_is("u3", "1"),
	    "the next transaction is clean");
}

int
main(void)
{
	const char *store = getenv("SNAPTUN_TEST_STORE");
	char path[512];

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/levels.db", check_tmpdir());
	if (db_open(store != NULL && store[0] != '\0' ? store : path, &db) < 0)
		abort();
	test_siblings();
	test_outer_rollback();
	test_refused_level();
	test_undone_level();
	db_close(db);
	return check_done();
}
