/* The state channel's store functions on a real SQLite file: the agents record (HELLO inserts
 * then updates, reports, not-found, paging) and an agent's assigned grants (db/agents.h); the
 * snapshot's reads: the trusted keys with their PEM and an agent's live grants by id keyset
 * (db/agentsnap.h). The outbox is store_agentdelta_test's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/agents.h"
#include "../../db/grant.h"
#include "../../db/agentsnap.h"
#include "../../db/db.h"
#include "../../db/stmt.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../db/pool.h"
#include "../../db/revocation.h"
#include "check.h"

#define T0 1800000000

static struct db *db;
static int64_t pool_id;

static void
setup(const char *dir)
{
	struct pool p = {0};
	struct pool_conflict pc;
	const char *why;
	char path[512];

	snprintf(path, sizeof(path), "%s/snaptun.db", dir);
	if (db_open(path, &db) < 0)
		abort();
	snprintf(p.name, sizeof(p.name), "a");
	p.isd_as = 0x1ff0000000110ull;
	p.hold_seconds = 600;
	prefix_parse("10.1.0.0/24", &p.prefix, path, sizeof(path), &why);
	if (pool_create(db, &p, T0, &pc) != 0)
		abort();
	pool_id = p.id;
}

/* A grant row as the allocator would leave it (the allocator's own rules are not under test). */
static void
grant_row(int idx, const char *pssid, const char *state, int64_t agent, int64_t session,
    int64_t hold_until)
{
	char sql[512], hold[24] = "NULL";

	if (hold_until != 0)
		snprintf(hold, sizeof(hold), "%lld", (long long)hold_until);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO grants (pool_id, addr_index, address, pssid, state, agent_id, "
	    "session_id, assigned_at, hold_until) VALUES (%lld, %d, '10.1.0.%d', '%s', '%s', "
	    "%lld, %lld, %d, %s)",
	    (long long)pool_id, idx, idx, pssid, state, (long long)agent, (long long)session, T0,
	    hold);
	if (db_exec(db, sql) != 0)
		abort();
}

static int
sum_sessions(void *arg, int64_t grant_id, int64_t session_id)
{
	(void)grant_id;
	*(int64_t *)arg += session_id;
	return 0;
}

static void
test_agents(void)
{
	struct agent_row a = {0}, v[3];
	int64_t sum = 0;
	int k;

	CHECK_EQ_INT(agents_get(db, 5, &a), ERR_NOT_FOUND, "no agent 5 yet");
	a.id = 5;
	snprintf(a.software_version, sizeof(a.software_version), "snaptun 0.1.0");
	snprintf(a.listen_address, sizeof(a.listen_address), "127.0.0.1:4433");
	snprintf(a.spki_pin, sizeof(a.spki_pin), "cGlu");
	a.channel_version = 1;
	CHECK_EQ_INT(agents_hello(db, &a, T0), 0, "HELLO of agent 5 recorded");
	snprintf(a.software_version, sizeof(a.software_version), "snaptun 0.2.0");
	CHECK_EQ_INT(agents_hello(db, &a, T0 + 10), 0, "its second HELLO too");
	memset(&a, 0, sizeof(a));
	CHECK(agents_get(db, 5, &a) == 0 && a.first_seen == T0 && a.last_hello == T0 + 10 &&
		strcmp(a.software_version, "snaptun 0.2.0") == 0 &&
		strcmp(a.listen_address, "127.0.0.1:4433") == 0 && a.last_stats == NULL,
	    "the second HELLO updates the row, first_seen stays");
	agents_row_clear(&a);

	CHECK_EQ_INT(agents_report(db, 5, "m1", T0 + 20, 3, "{\"at\":1}"), 0, "a report");
	CHECK_EQ_INT(agents_report(db, 5, "m1", T0 + 25, 2, NULL), 0, "one without STATS");
	CHECK(agents_get(db, 5, &a) == 0 && a.last_heartbeat == T0 + 25 && a.sessions == 2 &&
		a.last_stats != NULL && strcmp(a.last_stats, "{\"at\":1}") == 0,
	    "the report is kept, the last STATS too");
	agents_row_clear(&a);
	CHECK_EQ_INT(
	    agents_report(db, 6, "m1", T0, 0, NULL), ERR_NOT_FOUND, "reporting for no agent");

	a.id = 2;
	agents_hello(db, &a, T0);
	a.id = 9;
	agents_hello(db, &a, T0);
	CHECK(agents_list(db, 0, 2, v, &k) == 0 && k == 2 && v[0].id == 2 && v[1].id == 5,
	    "a page of two, by id");
	for (int i = 0; i < k; i++)
		agents_row_clear(&v[i]);
	CHECK(agents_list(db, 5, 2, v, &k) == 0 && k == 1 && v[0].id == 9, "the page after 5");
	agents_row_clear(&v[0]);

	grant_row(1, "p-1", "assigned", 5, 100, 0);
	grant_row(2, "p-2", "on_hold", 5, 101, T0 + 100);
	grant_row(3, "p-3", "assigned", 5, 102, 0);
	grant_row(4, "p-4", "assigned", 6, 103, 0);
	grant_row(5, "p-5", "on_hold", 5, 104, T0 - 1);
	CHECK(grant_list_assigned(db, 5, sum_sessions, &sum) == 2 && sum == 100 + 102,
	    "agent 5 has two assigned grants (not those on hold, not agent 6's)");
	sum = 0;
	CHECK(grant_list_assigned(db, 7, sum_sessions, &sum) == 0 && sum == 0, "agent 7 has none");
}

struct keys_seen {
	int n, stop_at;
	char kids[4][16];
	int64_t until[4];
	int pem_ok;
};

static int
key_seen(void *arg, const struct agentsnap_key *k)
{
	struct keys_seen *s = arg;

	if (s->n < 4) {
		snprintf(s->kids[s->n], sizeof(s->kids[0]), "%s", k->kid);
		s->until[s->n] = k->verify_until;
	}
	s->pem_ok &= strncmp(k->pem, "-----BEGIN", 10) == 0 && strcmp(k->alg, "EdDSA") == 0;
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static void
test_snapshot_reads(void)
{
	struct agentsnap_grant v[4];
	struct keys_seen s = {0, 0, {{0}}, {0}, 1};
	int n;

	CHECK(agentsnap_grants(db, 5, T0, 0, 4, v, &n) == 0 && n == 3 && v[0].id < v[1].id &&
		v[1].id < v[2].id,
	    "agent 5's live grants: two assigned, one held; not the lapsed hold");
	CHECK(strcmp(v[0].pssid, "p-1") == 0 && strcmp(v[0].address, "10.1.0.1") == 0 &&
		v[0].isd_as == 0x1ff0000000110ull && v[0].session_id == 100 && !v[0].on_hold &&
		v[0].pool_id == pool_id,
	    "a grant with its pool's ISD-AS");
	CHECK(v[1].on_hold && v[1].hold_until == T0 + 100, "the held one with its hold_until");
	CHECK(agentsnap_grants(db, 5, T0, 0, 2, v, &n) == 0 && n == 2 &&
		agentsnap_grants(db, 5, T0, v[1].id, 2, v, &n) == 0 && n == 1 &&
		strcmp(v[0].pssid, "p-3") == 0,
	    "paged two at a time by id");
	CHECK(agentsnap_grants(db, 5, T0 + 100, 0, 4, v, &n) == 0 && n == 2,
	    "at its hold_until the held grant is no longer live");

	if (db_exec(db,
		"INSERT INTO signing_keys (kid, alg, public_key_pem, state, created_at, "
		"verify_until) VALUES ('k-b', 'EdDSA', '-----BEGIN PUBLIC KEY-----b', 'verify', 1, "
		"1800000500), ('k-a', 'EdDSA', '-----BEGIN PUBLIC KEY-----a', 'active', 1, NULL), "
		"('k-c', 'EdDSA', '-----BEGIN PUBLIC KEY-----c', 'retired', 1, NULL)") != 0)
		abort();
	CHECK(agentsnap_keys(db, key_seen, &s) == 0 && s.n == 2 && strcmp(s.kids[0], "k-a") == 0 &&
		strcmp(s.kids[1], "k-b") == 0 && s.until[0] == 0 && s.until[1] == T0 + 500 &&
		s.pem_ok,
	    "the keys not retired, by kid, with PEM and verify_until");
	s = (struct keys_seen){0, 1, {{0}}, {0}, 1};
	CHECK(agentsnap_keys(db, key_seen, &s) == 7 && s.n == 1,
	    "the walk stops at the callback's non-zero value");
	s = (struct keys_seen){0, 0, {{0}}, {0}, 1};
	CHECK(agentsnap_key(db, "k-b", key_seen, &s) == 0 && s.n == 1 &&
		strcmp(s.kids[0], "k-b") == 0,
	    "one key by kid");
	CHECK_EQ_INT(agentsnap_key(db, "k-c", key_seen, &s), ERR_NOT_FOUND, "a retired one: none");
	CHECK_EQ_INT(agentsnap_key(db, "k-x", key_seen, &s), ERR_NOT_FOUND, "an unknown one: none");
}

int
main(void)
{
	log_set_level(LOG_ERROR);
	setup(check_tmpdir());
	test_agents();
	test_snapshot_reads();
	db_close(db);
	return check_done();
}
