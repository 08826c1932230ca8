/* The store's transactions: nesting shares one commit; a refused nested operation costs the
 * batch nothing; a nested failure after writes dooms the batch; migrations are idempotent. */
#include <stdio.h>
#include <string.h>

#include "../../db/db.h"
#include "../../lib/histogram.h"
#include "../../db/stmt.h"
#include "../../db/sqlite/schema.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

static int
meta_is(struct db *db, const char *key, const char *want)
{
	char buf[32];

	if (db_meta_get(db, key, buf, sizeof(buf)) < 0)
		return want == NULL;
	return want != NULL && strcmp(buf, want) == 0;
}

int
main(void)
{
	struct db *db;
	char path[512];

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/db.db", check_tmpdir());
	CHECK(db_open(path, &db) == 0, "open a new database");
	CHECK(db_check(db) == 0, "quick_check says ok");

	db_begin(db);
	db_begin(db);
	db_meta_set(db, "a", "1");
	db_commit(db);
	db_begin(db);
	db_rollback(db); /* refused before any write */
	db_begin(db);
	db_meta_set(db, "b", "2");
	db_commit(db);
	CHECK(db_commit(db) == 0, "a batch with a refused nested operation commits");
	CHECK(meta_is(db, "a", "1") && meta_is(db, "b", "2"), "both nested writes are kept");

	db_begin(db);
	db_meta_set(db, "c", "3");
	db_begin(db);
	db_meta_set(db, "d", "4");
	check_expect_begin();
	db_rollback(db); /* failed after writing */
	CHECK_EQ_INT(db_commit(db), ERR_DB, "a nested failure after writes dooms the batch");
	check_expect_end();
	CHECK(meta_is(db, "c", NULL) && meta_is(db, "d", NULL), "and nothing of it is kept");
	CHECK(!db_in_tx(db), "the transaction is over");

	db_begin(db);
	db_meta_set(db, "e", "5");
	CHECK(db_commit(db) == 0 && meta_is(db, "e", "5"), "the next transaction is clean");
	CHECK(db_checkpoint(db) == 0, "a passive checkpoint succeeds");
	{
		uint64_t before = db_tx_latency(db)->count;

		CHECK(db_writable(db) == 0 && !db_in_tx(db) && db_tx_latency(db)->count == before,
		    "the store is writable; the probe leaves no transaction and is not timed");
		db_begin(db);
		CHECK(db_writable(db) == 0 && db_in_tx(db), "inside a transaction it is writable");
		db_begin(db);
		db_commit(db);
		CHECK_EQ_INT(
		    db_tx_latency(db)->count, before, "a nested commit ends no transaction");
		db_commit(db);
		db_begin(db);
		db_rollback(db);
		CHECK(db_tx_latency(db)->count == before + 2 && db_tx_latency(db)->sum >= 0,
		    "each outermost commit and rollback is timed once");
	}
	db_close(db);

	CHECK(db_open(path, &db) == 0 && meta_is(db, "e", "5"),
	    "reopen: migrations are not "
	    "applied twice and the data is there");
	struct stmt *st = db_stmt(db, "PRAGMA user_version");
	CHECK(db_row(st) == 1 && db_col_int(st, 0) == schema_version(),
	    "user_version is the "
	    "schema version (%d)",
	    schema_version());
	db_reset(st);
	db_exec(db, "PRAGMA user_version = 999");
	db_close(db);
	check_expect_begin();
	CHECK(db_open(path, &db) == ERR_DB, "a database newer than the program is refused");
	check_expect_end();
	return check_done();
}
