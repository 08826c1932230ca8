/* The agents' outbox on a real SQLite file (db/agentdelta.h): each store function that changes
 * what agents hold writes exactly its row, typed, in its own transaction (none for a change that
 * changes nothing, none for a rolled-back one); the reader's cursor, purge and write stamp; and
 * migration 5, which carries the rows of the old text-kind table over and drops its triggers. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/agentdelta.h"
#include "../../db/db.h"
#include "../../db/grant.h"
#include "../../db/pool.h"
#include "../../db/revocation.h"
#include "../../db/signkey.h"
#include "../../db/sqlite/schema.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1800000000

static struct db *db;
static int64_t after; /* the test's reader cursor */

/* The next row after the cursor (advanced); kind AGENTDELTA_UNKNOWN and id 0 when none. */
static struct agentdelta
next_row(void)
{
	struct agentdelta d;

	memset(&d, 0, sizeof(d));
	if (agentdelta_next(db, after, &d) == 1)
		after = d.id;
	else
		memset(&d, 0, sizeof(d));
	return d;
}

static int
nothing_new(void)
{
	struct agentdelta d;

	return agentdelta_next(db, after, &d) == 0;
}

static int64_t
make_pool(const char *name, const char *prefix)
{
	struct pool p = {0};
	struct pool_conflict pc;
	const char *why;
	char buf[128];

	snprintf(p.name, sizeof(p.name), "%s", name);
	p.isd_as = 0x1ff0000000110ull;
	p.hold_seconds = 600;
	if (prefix_parse(prefix, &p.prefix, buf, sizeof(buf), &why) != 0 ||
	    pool_create(db, &p, T0, &pc) != 0)
		abort();
	return p.id;
}

static int64_t
make_grant(int64_t pool_id, uint64_t idx, const char *pssid, int64_t agent, int64_t session)
{
	struct grant g = {0};

	g.pool_id = pool_id;
	g.index = idx;
	snprintf(g.address, sizeof(g.address), "10.1.0.%u", (unsigned)idx);
	snprintf(g.pssid, sizeof(g.pssid), "%s", pssid);
	g.agent_id = agent;
	g.session_id = session;
	g.assigned_at = T0;
	if (grant_insert(db, &g) != 0)
		abort();
	return g.id;
}

static void
test_cursor(int64_t pool_id)
{
	struct agentdelta d;
	int64_t last = -1, stamp;

	CHECK(agentdelta_last(db, &last) == 0 && last > 0, "creating a pool wrote a row (%lld)",
	    (long long)last);
	d = next_row();
	CHECK(d.kind == AGENTDELTA_POOL && d.object_id == (uint64_t)pool_id && d.name[0] == '\0' &&
		d.agent_id == 0,
	    "POOL: the pool created, by id, for every agent");
	CHECK(nothing_new(), "and nothing else");
	CHECK_EQ_INT(agentdelta_purge(db, last), 0, "purged up to the last");
	CHECK_EQ_INT(agentdelta_next(db, 0, &d), 0, "the outbox is empty");

	stamp = agentdelta_stamp(db);
	revocation_add(db, "px-0", "r", "test", T0);
	CHECK(agentdelta_stamp(db) != stamp, "a write moves the stamp");
	stamp = agentdelta_stamp(db);
	agentdelta_next(db, after, &d);
	CHECK(agentdelta_stamp(db) == stamp, "a read does not");
	next_row();
}

static void
test_revocations(void)
{
	struct agentdelta d;

	CHECK_EQ_INT(revocation_add(db, "px-1", "lost laptop", "test", T0), 0, "px-1 revoked");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_REVOKE && strcmp(d.name, "px-1") == 0 &&
		strcmp(d.reason, "lost laptop") == 0 && d.agent_id == 0,
	    "REVOKE: the pssid and reason, for every agent");
	CHECK_EQ_INT(revocation_add(db, "px-1", "again", "test", T0), 0, "revoked again");
	CHECK(nothing_new(), "a pssid revoked already writes no second REVOKE");
	CHECK_EQ_INT(revocation_remove(db, "px-1"), 0, "lifted");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_UNREVOKE && strcmp(d.name, "px-1") == 0, "UNREVOKE: the pssid");
	CHECK_EQ_INT(revocation_remove(db, "px-1"), ERR_NOT_FOUND, "lifting it again: not found");
	CHECK(nothing_new(), "and no row");

	db_begin(db);
	revocation_add(db, "px-2", "r", "test", T0);
	db_rollback(db);
	CHECK(nothing_new(), "a revocation rolled back leaves no row");
	CHECK_EQ_INT(revocation_has(db, "px-2"), 0, "nor a revocation");
}

/* grant_assign of the grant id as the store has it now. */
static int
assign(int64_t id, int64_t agent, int64_t session)
{
	struct grant g;

	if (grant_get(db, id, &g) != 0)
		return -1;
	return grant_assign(db, &g, agent, session, T0);
}

static void
test_grants(int64_t pool_id)
{
	struct agentdelta d;
	int64_t g, h;

	CHECK_EQ_INT(agentdelta_kill(db, 77, 5, "ended by the API"), 0, "a kill queued");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_SESSION_KILL && d.object_id == 77 && d.agent_id == 5 &&
		strcmp(d.reason, "ended by the API") == 0,
	    "SESSION_KILL: the session, for its agent, with the reason");

	g = make_grant(pool_id, 10, "p-1", 5, 50);
	CHECK(nothing_new(), "a new grant writes no row (the agent asked for it)");
	CHECK_EQ_INT(assign(g, 5, 51), 0, "assigned to another session, same agent");
	CHECK(nothing_new(), "on the same agent the agent supersedes by itself: no row");
	CHECK_EQ_INT(assign(g, 6, 60), 0, "assigned to a session on agent 6");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_SESSION_KILL && d.object_id == 51 && d.agent_id == 5 &&
		strcmp(d.reason, "superseded") == 0,
	    "the old session on agent 5 must end: SESSION_KILL 51 for agent 5, superseded");
	CHECK(nothing_new(), "one row");
	CHECK_EQ_INT(grant_hold(db, g, T0 + 600), 0, "held");
	CHECK(nothing_new(), "a hold writes no row");
	CHECK_EQ_INT(assign(g, 7, 70), 0, "taken back on agent 7");
	CHECK(nothing_new(), "a held grant has no session to end: no row");
	CHECK_EQ_INT(grant_delete(db, g), 0, "deleted while assigned");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_GRANT_RELEASE && d.object_id == (uint64_t)g && d.agent_id == 7 &&
		strcmp(d.reason, "address released") == 0,
	    "GRANT_RELEASE: the grant id, for its agent");

	h = make_grant(pool_id, 11, "p-2", 5, 52);
	grant_hold(db, h, T0 + 1);
	CHECK_EQ_INT(grant_delete(db, h), 0, "a held grant deleted");
	CHECK(nothing_new(), "a lapsed hold goes silently");

	h = make_grant(pool_id, 12, "p-3", 5, 53);
	db_begin(db);
	grant_delete(db, h);
	db_rollback(db);
	CHECK(nothing_new(), "a release rolled back leaves no row");
}

static void
test_pools(void)
{
	struct pool_change rename = {.name = "b2", .hold_seconds = -1, .client_to_client = -1},
			   other = {.name = "x", .hold_seconds = -1, .client_to_client = -1};
	struct agentdelta d;
	int64_t p, released = 0, g;

	p = make_pool("b", "10.2.0.0/24");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_POOL && d.object_id == (uint64_t)p, "POOL: created");
	CHECK_EQ_INT(pool_update(db, p, &rename, T0), 0, "renamed");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_POOL && d.object_id == (uint64_t)p, "POOL: changed");
	CHECK_EQ_INT(pool_update(db, 9999, &other, T0), ERR_NOT_FOUND, "an unknown pool");
	CHECK(nothing_new(), "no row for it");

	g = make_grant(p, 20, "p-4", 9, 90);
	grant_hold(db, make_grant(p, 21, "p-5", 9, 91), T0 + 600);
	CHECK_EQ_INT(pool_delete(db, p, 0, "test", T0, &released), ERR_CONFLICT,
	    "a pool with live grants is not deleted without force");
	CHECK(nothing_new(), "and writes no row");
	CHECK_EQ_INT(pool_delete(db, p, 1, "test", T0, &released), 0, "deleted with force");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_GRANT_RELEASE && d.object_id == (uint64_t)g && d.agent_id == 9,
	    "GRANT_RELEASE of its assigned grant, for agent 9");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_POOL_REMOVED && d.object_id == (uint64_t)p,
	    "then POOL_REMOVED (none for the held grant)");
	CHECK(nothing_new(), "nothing else");
}

static void
test_keys(void)
{
	struct signkey k = {0};
	struct agentdelta d;

	snprintf(k.kid, sizeof(k.kid), "k-a");
	k.alg = JWT_ALG_EDDSA;
	k.state = SIGNKEY_ACTIVE;
	k.created_at = T0;
	CHECK_EQ_INT(signkey_insert(db, &k, "-----BEGIN PUBLIC KEY-----a", NULL), 0, "k-a stored");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_KEY && strcmp(d.name, "k-a") == 0, "KEY: the kid");
	snprintf(k.kid, sizeof(k.kid), "k-c");
	k.state = SIGNKEY_RETIRED;
	signkey_insert(db, &k, "-----BEGIN PUBLIC KEY-----c", NULL);
	CHECK(nothing_new(), "a key stored retired writes no row");
	CHECK_EQ_INT(signkey_set_verify(db, "k-a", T0 + 500), 1, "k-a to verify");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_KEY && strcmp(d.name, "k-a") == 0, "KEY: its new verify_until");
	CHECK_EQ_INT(signkey_set_verify(db, "k-a", T0 + 900), 0, "not active any more");
	CHECK(nothing_new(), "no row");
	CHECK_EQ_INT(signkey_set_retired(db, "k-a", T0), 0, "k-a retired");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_KEY_RETIRE && strcmp(d.name, "k-a") == 0, "KEY_RETIRE: the kid");
	CHECK_EQ_INT(signkey_delete(db, "k-c"), 0, "k-c deleted");
	d = next_row();
	CHECK(d.kind == AGENTDELTA_KEY_RETIRE && strcmp(d.name, "k-c") == 0,
	    "KEY_RETIRE: a deleted kid");
	CHECK_EQ_INT(signkey_delete(db, "k-c"), ERR_NOT_FOUND, "deleted again: not found");
	CHECK(nothing_new(), "no row");
}

/* A database at version 4 with unsent rows of every text kind, migrated: the rows keep their
 * ids and order and come back typed; no trigger is left. */
static void
test_migration(const char *dir)
{
	static const char *const text[] = {"key", "key_retire", "revoke", "unrevoke",
	    "grant_release", "session_kill", "pool", "pool_removed"};
	static const enum agentdelta_kind kinds[] = {AGENTDELTA_KEY, AGENTDELTA_KEY_RETIRE,
	    AGENTDELTA_REVOKE, AGENTDELTA_UNREVOKE, AGENTDELTA_GRANT_RELEASE,
	    AGENTDELTA_SESSION_KILL, AGENTDELTA_POOL, AGENTDELTA_POOL_REMOVED};
	struct db *old = db;
	struct agentdelta d;
	sqlite3_stmt *st;
	char path[512], sql[256];
	sqlite3 *h;
	int ok = 1, triggers = -1;

	snprintf(path, sizeof(path), "%s/v4.db", dir);
	if (sqlite3_open(path, &h) != SQLITE_OK)
		abort();
	CHECK_EQ_INT(schema_migrate_to(h, 4), 0, "a database at version 4");
	for (size_t i = 0; i < 8; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO agent_deltas (id, kind, object, agent_id, reason) VALUES (%zu, '%s', "
		    "'%s', %s, 'why %zu')",
		    10 + i, text[i], i >= 4 ? "42" : "name-x", i == 4 || i == 5 ? "3" : "NULL", i);
		ok &= sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK;
	}
	CHECK(ok, "eight unsent rows, one of each text kind");
	sqlite3_close(h);

	CHECK_EQ_INT(db_open(path, &db), 0, "opened: migrated to the current version");
	after = 0;
	for (size_t i = 0; i < 8; i++) {
		d = next_row();
		ok &= d.id == (int64_t)(10 + i) && d.kind == kinds[i];
		ok &= (i >= 4) ? d.object_id == 42 : strcmp(d.name, "name-x") == 0;
		ok &= d.agent_id == (i == 4 || i == 5 ? 3u : 0u);
		snprintf(sql, sizeof(sql), "why %zu", i);
		ok &= strcmp(d.reason, sql) == 0;
	}
	CHECK(ok, "each row came over with its id, typed kind, object, agent and reason");
	CHECK(nothing_new(), "and no other");
	db_close(db);

	if (sqlite3_open(path, &h) != SQLITE_OK)
		abort();
	if (sqlite3_prepare_v2(h,
		"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' OR "
		"name = 'agent_deltas'",
		-1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		triggers = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	CHECK_EQ_INT(triggers, 0, "no trigger and no old table left");
	db = old;
}

int
main(void)
{
	const char *dir = check_tmpdir();
	char path[512];
	int64_t pool_id;

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/snaptun.db", dir);
	if (db_open(path, &db) < 0)
		abort();
	pool_id = make_pool("a", "10.1.0.0/24");
	test_cursor(pool_id);
	test_revocations();
	test_grants(pool_id);
	test_pools();
	test_keys();
	db_close(db);
	test_migration(dir);
	return check_done();
}
