/* The store's join tokens (db/jointoken.h) against a real SQLite file, time passed in: insert
 * and the hash's uniqueness, lookups by id, secret hash and ack hash, the effective state, the
 * list's filters and paging, each transition winning once (single use), the ack hash's
 * uniqueness among pending acks, the sweep's selections. */
#include <stdio.h>
#include <string.h>

#include "../../db/client.h"
#include "../../db/db.h"
#include "../../db/jointoken.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1700000000

static struct db *db;

static int64_t
mk(const char *hash, const char *labels, int64_t ttl, int64_t now)
{
	struct jointoken_spec spec = {"edge", labels, 0, ttl};
	struct join_token t;

	return jointoken_insert(db, hash, &spec, "alice", now, &t) == 0 ? t.id : -1;
}

static enum jointoken_state
state_at(int64_t id, int64_t now)
{
	struct join_token t;

	return jointoken_get(db, id, now, &t) == 0 ? t.state : (enum jointoken_state) - 1;
}

static void
test_insert_get(void)
{
	struct jointoken_spec spec = {"edge", "{\"site\":\"zrh\"}", 7, 60};
	struct join_token t, g;

	CHECK(jointoken_insert(db, "h-a", &spec, "alice", T0, &t) == 0 && t.id > 0 &&
		t.state == JT_ISSUED && t.expires_at == T0 + 60 && t.pool_id == 7 &&
		strcmp(t.created_by, "alice") == 0,
	    "insert: issued, expiring after the ttl, the row as stored");
	CHECK_EQ_INT(jointoken_insert(db, "h-a", &spec, "bob", T0, &g), ERR_CONFLICT,
	    "a second token with the same secret hash is a conflict");
	CHECK(jointoken_get(db, t.id, T0, &g) == 0 && g.id == t.id &&
		strcmp(g.labels, "{\"site\":\"zrh\"}") == 0 && g.pool_id == 7 &&
		g.created_at == T0 && g.attempts == 0 && g.in_flight_address[0] == '\0',
	    "get by id reads every column back");
	CHECK(jointoken_get_by_hash(db, "h-a", T0, &g) == 0 && g.id == t.id,
	    "get by secret hash finds the same token");
	CHECK_EQ_INT(jointoken_get_by_hash(db, "h-none", T0, &g), ERR_NOT_FOUND,
	    "an unknown hash is not found");
	CHECK_EQ_INT(jointoken_get(db, 9999, T0, &g), ERR_NOT_FOUND, "an unknown id is not found");
	CHECK(state_at(t.id, T0 + 59) == JT_ISSUED && state_at(t.id, T0 + 60) == JT_EXPIRED,
	    "the state as time has it: expired at expires_at, before any sweep");
	CHECK(jointoken_get_by_hash(db, "h-a", T0 + 60, &g) == 0 && g.state == JT_EXPIRED,
	    "also when found by hash");
}

static void
test_list(void)
{
	struct jointoken_filter all = {-1, NULL, NULL}, expired = {JT_EXPIRED, NULL, NULL};
	struct jointoken_filter key = {-1, "fleet", NULL}, kv = {-1, "fleet", "f2"};
	struct join_token v[8];
	int64_t a = mk("h-l1", "{\"fleet\":\"f1\"}", 10, T0),
		b = mk("h-l2", "{\"fleet\":\"f2\"}", 100, T0), c = mk("h-l3", "{}", 100, T0);
	int n;

	CHECK(jointoken_list(db, &all, T0, a - 1, 8, v, &n) == 0 && n == 3 && v[0].id == a &&
		v[1].id == b && v[2].id == c,
	    "list from a cursor, by id");
	CHECK(jointoken_list(db, &all, T0, a - 1, 2, v, &n) == 0 && n == 2 && v[1].id == b &&
		jointoken_list(db, &all, T0, v[1].id, 2, v, &n) == 0 && n == 1 && v[0].id == c,
	    "paging: the limit, then the rest after the last id");
	CHECK(jointoken_list(db, &expired, T0 + 10, a - 1, 8, v, &n) == 0 && n == 1 &&
		v[0].id == a && v[0].state == JT_EXPIRED,
	    "state=expired finds the unswept expired token");
	CHECK(jointoken_list(db, &key, T0, a - 1, 8, v, &n) == 0 && n == 2,
	    "a label key matches any value");
	CHECK(jointoken_list(db, &kv, T0, a - 1, 8, v, &n) == 0 && n == 1 && v[0].id == b,
	    "a label key and value match that value only");
	{
		int64_t at0[5], at10[5];

		CHECK(jointoken_count_by_state(db, T0, at0) == 0 &&
			jointoken_count_by_state(db, T0 + 10, at10) == 0 &&
			at10[JT_EXPIRED] == at0[JT_EXPIRED] + 1 &&
			at10[JT_ISSUED] == at0[JT_ISSUED] - 1 && at0[JT_ISSUED] >= 3,
		    "counts by state: the unswept token past its expiry counts as expired");
	}
}

static void
test_enrollment(void)
{
	int64_t a = mk("h-e1", "{}", 3600, T0), b = mk("h-e2", "{}", 3600, T0), id, pending;
	char pssid[PSSID_MAX + 1];
	struct join_token t;

	CHECK_EQ_INT(jointoken_set_in_flight(db, a, JT_ISSUED, "192.0.2.1", T0 + 30, "ack-1", T0),
	    1, "issued → in flight");
	CHECK_EQ_INT(jointoken_set_in_flight(db, a, JT_ISSUED, "192.0.2.9", T0 + 30, "ack-9", T0),
	    0, "from issued once only: the second transition loses");
	CHECK(jointoken_get(db, a, T0, &t) == 0 && t.state == JT_IN_FLIGHT &&
		strcmp(t.in_flight_address, "192.0.2.1") == 0 && t.ack_deadline == T0 + 30,
	    "in flight for the first caller, with its deadline");
	CHECK_EQ_INT(jointoken_set_in_flight(db, b, JT_ISSUED, "192.0.2.2", T0 + 30, "ack-1", T0),
	    ERR_CONFLICT, "an ack hash another token waits for is refused");
	CHECK(state_at(b, T0) == JT_ISSUED, "and that token stays issued");
	CHECK(jointoken_count_pending_acks(db, T0 + 29, &pending) == 0 && pending == 1 &&
		jointoken_count_pending_acks(db, T0 + 30, &pending) == 0 && pending == 0,
	    "one ack pending before the deadline, none at it");

	client_insert(db, "pssid-a", "edge", "{}", a, "refresh-a", T0);
	CHECK(jointoken_get_by_ack(db, "ack-1", T0 + 29, &id, pssid) == 0 && id == a &&
		strcmp(pssid, "pssid-a") == 0,
	    "the pending ack finds its token and its enrollment's client");
	CHECK_EQ_INT(jointoken_get_by_ack(db, "ack-1", T0 + 30, &id, pssid), ERR_NOT_FOUND,
	    "not at the deadline");
	CHECK_EQ_INT(jointoken_get_by_ack(db, "ack-x", T0, &id, pssid), ERR_NOT_FOUND,
	    "an unknown ack is not found");
	CHECK_EQ_INT(
	    jointoken_set_in_flight(db, a, JT_IN_FLIGHT, "192.0.2.1", T0 + 30, "ack-2", T0), 1,
	    "in flight again with a fresh ack (the same caller once more)");
	CHECK_EQ_INT(jointoken_get_by_ack(db, "ack-1", T0, &id, pssid), ERR_NOT_FOUND,
	    "the superseded ack is gone");

	CHECK_EQ_INT(jointoken_set_consumed(db, a, T0 + 5), 1, "in flight → consumed");
	CHECK_EQ_INT(jointoken_set_consumed(db, a, T0 + 6), 0, "consumed once only");
	CHECK(jointoken_get(db, a, T0 + 6, &t) == 0 && t.state == JT_CONSUMED &&
		strcmp(t.consumed_address, "192.0.2.1") == 0 && t.consumed_at == T0 + 5 &&
		t.ack_deadline == 0,
	    "consumed at the in-flight address, at that time, no deadline left");
	CHECK_EQ_INT(jointoken_get_by_ack(db, "ack-2", T0 + 6, &id, pssid), ERR_NOT_FOUND,
	    "its ack is spent");
	CHECK_EQ_INT(
	    jointoken_set_in_flight(db, b, JT_ISSUED, "192.0.2.2", T0 + 40, "ack-2", T0 + 10), 1,
	    "and its hash is free for another token's ack");
	CHECK_EQ_INT(jointoken_set_aborted(db, a, T0 + 7), 0, "a consumed token cannot be aborted");
	CHECK_EQ_INT(jointoken_set_issued(db, a, T0 + 7), 0, "nor sent back to issued");
}

static void
test_sweep_transitions(void)
{
	int64_t e1 = mk("h-s1", "{}", 20, T0), e2 = mk("h-s2", "{}", 10, T0),
		f1 = mk("h-s3", "{}", 3600, T0), f2 = mk("h-s4", "{}", 3600, T0), ids[4];
	struct join_token t;
	int n;

	jointoken_set_in_flight(db, f1, JT_ISSUED, "192.0.2.3", T0 + 50, "ack-f1", T0);
	jointoken_set_in_flight(db, f2, JT_ISSUED, "192.0.2.4", T0 + 40, "ack-f2", T0);
	CHECK(jointoken_list_expired(db, T0 + 19, 4, ids, &n) == 0 && n == 1 && ids[0] == e2,
	    "an issued token at its expiry is selected, one before it not");
	CHECK(jointoken_list_expired(db, T0 + 20, 4, ids, &n) == 0 && n == 2 && ids[0] == e2 &&
		ids[1] == e1,
	    "expired issued tokens, the soonest expiry first");
	CHECK(
	    jointoken_list_expired(db, T0 + 20, 1, ids, &n) == 0 && n == 1, "at most max of them");
	CHECK(jointoken_list_ack_lapsed(db, T0 + 39, 4, ids, &n) == 0 && n == 0,
	    "no ack lapsed before the first deadline");
	CHECK(jointoken_list_ack_lapsed(db, T0 + 50, 4, ids, &n) == 0 && n == 2 && ids[0] == f2 &&
		ids[1] == f1,
	    "lapsed acks, the soonest deadline first");

	CHECK_EQ_INT(jointoken_set_expired(db, e1, T0 + 20), 1, "issued → expired");
	CHECK_EQ_INT(jointoken_set_expired(db, e1, T0 + 21), 0, "once");
	CHECK_EQ_INT(
	    jointoken_set_expired(db, f1, T0 + 21), 0, "an in-flight token does not expire");
	CHECK_EQ_INT(jointoken_set_issued(db, f1, T0 + 50), 1, "in flight → issued");
	CHECK(jointoken_get(db, f1, T0 + 50, &t) == 0 && t.state == JT_ISSUED && t.attempts == 1 &&
		t.in_flight_address[0] == '\0' && t.ack_deadline == 0 && t.updated_at == T0 + 50,
	    "reverted: one attempt more, no address, no deadline");
	CHECK_EQ_INT(jointoken_set_issued(db, f1, T0 + 51), 0, "an issued token is not reverted");
	CHECK_EQ_INT(jointoken_set_in_flight(db, e2, JT_ISSUED, "192.0.2.5", T0 + 80, "ack-e2", T0),
	    1, "the store does not judge expiry: that is its caller's check");
	CHECK_EQ_INT(jointoken_set_aborted(db, f2, T0 + 60), 1, "in flight → aborted");
	CHECK_EQ_INT(jointoken_set_aborted(db, f1, T0 + 60), 1, "issued → aborted");
	CHECK_EQ_INT(jointoken_set_aborted(db, f1, T0 + 61), 0, "aborted once only");
	CHECK_EQ_INT(jointoken_set_aborted(db, e1, T0 + 61), 0, "an expired token stays expired");
	CHECK(state_at(f2, T0 + 61) == JT_ABORTED && state_at(e1, T0 + 61) == JT_EXPIRED,
	    "the states stay as the winning transitions left them");
}

/* Run test on a store of its own: what the others left does not count. */
static int
run(const char *name, void (*test)(void))
{
	char path[512];

	snprintf(path, sizeof(path), "%s/store_jointoken_%s.db", check_tmpdir(), name);
	if (db_open(path, &db) < 0)
		return -1;
	test();
	db_close(db);
	return 0;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	if (run("get", test_insert_get) < 0 || run("list", test_list) < 0 ||
	    run("enroll", test_enrollment) < 0 || run("sweep", test_sweep_transitions) < 0)
		return 1;
	return check_done();
}
