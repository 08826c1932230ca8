/* Several managers on one store, on a real SQLite file, or on the store SNAPTUN_TEST_STORE
 * names (a new PostgreSQL database: tests/e2e/pg_livesession_test.sh runs this test there):
 * the agents row names the manager an agent is attached to, cleared only
 * by that manager when the agent leaves, and counts as attached elsewhere while fresh; the
 * live_sessions rows of an agent are replaced whole, read back with every field and counter
 * (the 64-bit ones past INT64_MAX too), filtered and paged by id, hidden from the manager that
 * wrote them, and hidden once their manager went stale or the agent moved; an agent's rows are
 * exactly its sessions after writes of every size around the batch window (DB_BATCH_WINDOW: 0,
 * 1, window-1, window, window+1, several windows, then fewer) and after a failed write (none
 * of it kept); the jobs lease is always held on SQLite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/agents.h"
#include "../../db/db.h"
#include "../../db/livesession.h"
#include "../../db/stmt.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1800000000

static struct db *db;

static void
hello(int64_t id, const char *manager, int64_t now)
{
	struct agent_row a = {0};

	a.id = id;
	snprintf(a.software_version, sizeof(a.software_version), "snaptun test");
	snprintf(a.manager, sizeof(a.manager), "%s", manager);
	a.channel_version = 1;
	if (agents_hello(db, &a, now) != 0)
		abort();
}

static struct session
session(uint64_t id, uint64_t agent, const char *pssid)
{
	struct session s = {0};

	s.id = id;
	s.agent_id = agent;
	snprintf(s.pssid, sizeof(s.pssid), "%s", pssid);
	s.grant_id = id + 100;
	snprintf(s.address, sizeof(s.address), "10.0.0.%llu", (unsigned long long)id % 250);
	s.isd_as = 0x1ff0000000110ull;
	snprintf(s.remote, sizeof(s.remote), "192.0.2.1:%llu", (unsigned long long)id);
	s.started_at = T0;
	s.expires_at = T0 + 3600;
	s.counters.rx_packets = 7;
	s.counters.rx_bytes = UINT64_MAX - 1; /* a wrapped counter keeps its bits */
	s.counters.dropped_packets = 3;
	s.counters.drops[COUNTERS_DROP_SPOOFED] = 2;
	s.counters.drops[COUNTERS_DROP_NO_TUNNEL] = 1;
	return s;
}

static void
test_agents(void)
{
	struct agent_row a = {0};

	hello(1, "m2", T0);
	CHECK(agents_get(db, 1, &a) == 0 && strcmp(a.manager, "m2") == 0,
	    "HELLO records the manager the agent is attached to");
	CHECK(agents_attached_elsewhere(&a, "m1", T0 + AGENTS_FRESH_SECONDS) &&
		!agents_attached_elsewhere(&a, "m1", T0 + AGENTS_FRESH_SECONDS + 1) &&
		!agents_attached_elsewhere(&a, "m2", T0),
	    "attached elsewhere: to another manager, while its row is fresh");
	agents_row_clear(&a);
	CHECK_EQ_INT(agents_report(db, 1, "m2", T0 + 100, 2, NULL), 0, "a report refreshes it");
	CHECK_EQ_INT(agents_detach(db, 1, "m1"), 0, "another manager's detach ...");
	CHECK(agents_get(db, 1, &a) == 0 && strcmp(a.manager, "m2") == 0 &&
		agents_attached_elsewhere(&a, "m1", T0 + 100),
	    "... leaves it attached to its own");
	agents_row_clear(&a);
	CHECK_EQ_INT(agents_detach(db, 1, "m2"), 0, "its manager's detach ...");
	CHECK(agents_get(db, 1, &a) == 0 && a.manager[0] == '\0' &&
		!agents_attached_elsewhere(&a, "m1", T0 + 100),
	    "... leaves it attached to none");
	agents_row_clear(&a);
}

static void
test_sessions(void)
{
	struct livesession_filter f = {"m1", T0 + 100 - AGENTS_FRESH_SECONDS, NULL, 0};
	struct session v[3], out[4], got;
	int n;

	hello(2, "m2", T0 + 100);
	hello(3, "m2", T0 + 100);
	v[0] = session(30, 2, "a0b1c2d3-0000-4000-8000-000000000030");
	v[1] = session(10, 2, "a0b1c2d3-0000-4000-8000-000000000010");
	v[2] = session(20, 3, "a0b1c2d3-0000-4000-8000-000000000020");
	CHECK(livesession_replace(db, 2, "m2", v, 2) == 0 &&
		livesession_replace(db, 3, "m2", &v[2], 1) == 0,
	    "manager m2 writes the sessions of its agents 2 and 3");
	CHECK(livesession_list(db, &f, 0, 4, out, &n) == 0 && n == 3 && out[0].id == 10 &&
		out[1].id == 20 && out[2].id == 30,
	    "manager m1 lists them all, by id");
	CHECK(memcmp(&out[0], &v[1], sizeof(out[0])) == 0,
	    "every field and counter reads back as written (a counter past INT64_MAX too)");
	CHECK(livesession_list(db, &f, 10, 1, out, &n) == 0 && n == 1 && out[0].id == 20,
	    "a page after id 10 of one");
	f.agent_id = 3;
	CHECK(
	    livesession_list(db, &f, 0, 4, out, &n) == 0 && n == 1 && out[0].id == 20, "by agent");
	f.agent_id = 0;
	f.pssid = "a0b1c2d3-0000-4000-8000-000000000030";
	CHECK(
	    livesession_list(db, &f, 0, 4, out, &n) == 0 && n == 1 && out[0].id == 30, "by pssid");
	f.pssid = NULL;
	CHECK(livesession_get(db, &f, 20, &got) == 0 && got.agent_id == 3 &&
		strcmp(got.remote, "192.0.2.1:20") == 0,
	    "one by id");
	CHECK_EQ_INT(livesession_get(db, &f, 99, &got), ERR_NOT_FOUND, "an unknown id");
	f.self = "m2";
	CHECK(livesession_list(db, &f, 0, 4, out, &n) == 0 && n == 0,
	    "the manager that wrote them does not read them (it has them in memory)");
	f.self = "m1";
	CHECK(livesession_replace(db, 2, "m2", v, 1) == 0 &&
		livesession_list(db, &f, 0, 4, out, &n) == 0 && n == 2,
	    "a new report replaces the agent's sessions whole (session 10 ended)");
	f.fresh_since = T0 + 101;
	CHECK(livesession_list(db, &f, 0, 4, out, &n) == 0 && n == 0,
	    "a manager that stopped writing its agents' rows (it died): its sessions are hidden");
	f.fresh_since = T0 + 100 - AGENTS_FRESH_SECONDS;
	hello(3, "m3", T0 + 100);
	CHECK(livesession_list(db, &f, 0, 4, out, &n) == 0 && n == 1 && out[0].id == 30,
	    "an agent that moved to another manager: the old manager's rows of it are hidden");
	CHECK(livesession_forget(db, 2, "m2") == 0 &&
		livesession_list(db, &f, 0, 4, out, &n) == 0 && n == 0,
	    "its manager forgets an agent that left");
}

/* The ids agent 4's rows have, read as manager m1 does; 1 when they are exactly n sessions
 * numbered from first, each with rx_packets equal to its id plus round. */
static int
holds_exactly(struct session *out, int cap, size_t n, uint64_t first, uint64_t round)
{
	struct livesession_filter f = {"m1", T0 + 200 - AGENTS_FRESH_SECONDS, NULL, 4};
	int got;

	if (livesession_list(db, &f, 0, cap, out, &got) < 0 || (size_t)got != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (out[i].id != first + i || out[i].agent_id != 4 ||
		    out[i].counters.rx_packets != first + i + round)
			return 0;
	return 1;
}

/* Writes of n sessions numbered from first, inside a report transaction as the manager makes
 * them: 0 or err. */
static int
write_round(struct session *v, size_t n, uint64_t first, uint64_t round)
{
	int rv;

	for (size_t i = 0; i < n; i++) {
		v[i] = session(first + i, 4, "a0b1c2d3-0000-4000-8000-000000000004");
		v[i].counters.rx_packets = first + i + round;
	}
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = agents_report(db, 4, "m2", T0 + 200, (int64_t)n, NULL)) < 0 ||
	    (rv = livesession_replace(db, 4, "m2", v, n)) < 0) {
		db_rollback(db);
		return rv;
	}
	return db_commit(db);
}

static void
test_windows(void)
{
	const size_t w = DB_BATCH_WINDOW;
	const size_t sizes[] = {0, 1, w - 1, w, w + 1, 3 * w + 5, 2, 0};
	const int cap = 3 * DB_BATCH_WINDOW + 6;
	struct session *v = calloc((size_t)cap, sizeof(*v)),
		       *out = calloc((size_t)cap, sizeof(*out));
	uint64_t first = 1000;
	int got;

	if (v == NULL || out == NULL)
		abort();
	hello(4, "m2", T0 + 200);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		/* Each round starts its ids one further on: the first row of the last one ended. */
		first++;
		CHECK(write_round(v, sizes[k], first, k) == 0 &&
			holds_exactly(out, cap, sizes[k], first, k),
		    "a write of %zu sessions leaves exactly those (window %zu)", sizes[k], w);
	}
	CHECK(write_round(v, 5, 4000, 0) == 0 && holds_exactly(out, cap, 5, 4000, 0),
	    "five sessions");
	v[2] = v[3];
	v[3] = v[4];
	CHECK(livesession_replace(db, 4, "m2", v, 4) == 0 &&
		livesession_list(
		    db, &(struct livesession_filter){"m1", T0, NULL, 4}, 0, cap, out, &got) == 0 &&
		got == 4 && out[0].id == 4000 && out[1].id == 4001 && out[2].id == 4003 &&
		out[3].id == 4004,
	    "the middle one of five ended: the store holds the other four");
	CHECK(write_round(v, 3, 5000, 1) == 0 && holds_exactly(out, cap, 3, 5000, 1),
	    "three sessions before a failing write");
	/* Two sessions with one id: the second insert fails after the first went out. */
	for (size_t i = 0; i < w + 2; i++) {
		v[i] = session(6000 + i, 4, "a0b1c2d3-0000-4000-8000-000000000004");
		v[i].counters.rx_packets = 6000 + i + 2;
	}
	v[w + 1].id = 6000;
	check_expect_begin();
	CHECK(livesession_replace(db, 4, "m2", v, w + 2) == ERR_CONFLICT,
	    "a write with a session id twice past the first window fails as a conflict");
	check_expect_end();
	CHECK(holds_exactly(out, cap, 3, 5000, 1),
	    "nothing of the failed write is kept: the three sessions before it are still there");
	CHECK(write_round(v, 1, 7000, 0) == 0 && holds_exactly(out, cap, 1, 7000, 0),
	    "and the store takes the next write");
	free(v);
	free(out);
}

int
main(void)
{
	const char *store = getenv("SNAPTUN_TEST_STORE");
	char path[512];
	int on_sqlite = store == NULL || store[0] == '\0';

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/snaptun.db", check_tmpdir());
	if (db_open(on_sqlite ? path : store, &db) < 0)
		abort();
	if (on_sqlite) {
		CHECK_EQ_INT(
		    db_jobs_lease(db), 1, "SQLite: this manager always holds the jobs lease");
		CHECK_EQ_INT(db_shared(db), 0, "SQLite: a store of one manager");
	} else {
		CHECK_EQ_INT(db_shared(db), 1, "%s: a store managers share", store);
	}
	test_agents();
	test_sessions();
	test_windows();
	db_close(db);
	return check_done();
}
