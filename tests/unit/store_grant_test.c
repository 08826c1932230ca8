/* The store of grants and their history (db/grant.h) against a real SQLite file: insert and
 * its conflicts, lookups, filtered and paged lists, transitions as rows, lapsed holds, an
 * agent's grants, the history. */
#include <stdio.h>
#include <string.h>

#include "../../db/db.h"
#include "../../db/grant.h"
#include "../../db/pool.h"
#include "../../db/reservation.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define IA_110 0x0001ff0000000110ULL
#define IA_111 0x0001ff0000000111ULL
#define T0 1700000000

static struct db *db;
static struct pool pa, pb; /* 10.0.0.0/24 in 1-ff00:0:110, 10.1.0.0/24 in 1-ff00:0:111 */

static void
mkpool(struct pool *p, const char *name, uint64_t ia, const char *prefix)
{
	struct pool_conflict c;
	const char *why;
	char whybuf[64];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->isd_as = ia;
	prefix_parse(prefix, &p->prefix, whybuf, sizeof(whybuf), &why);
	p->hold_seconds = 600;
	CHECK(pool_create(db, p, T0, &c) == 0, "pool %s", name);
}

static int
mkgrant(const struct pool *p, uint64_t idx, const char *pssid, int64_t agent, int64_t session,
    struct grant *g)
{
	struct addr a;

	memset(g, 0, sizeof(*g));
	g->pool_id = p->id;
	g->index = idx;
	prefix_addr_at(&p->prefix, idx, &a);
	addr_format(&a, g->address);
	snprintf(g->pssid, sizeof(g->pssid), "%s", pssid);
	g->agent_id = agent;
	g->session_id = session;
	g->assigned_at = T0;
	return grant_insert(db, g);
}

static void
test_states(void)
{
	enum grant_state s;

	CHECK(grant_state_parse("on_hold", &s) == 0 && s == GRANT_ON_HOLD &&
		strcmp(grant_state_str(GRANT_ASSIGNED), "assigned") == 0,
	    "states to and from text");
	CHECK(grant_state_parse("lost", &s) < 0, "an unknown state is refused");
}

static void
test_insert_and_lookups(void)
{
	struct grant g, h;

	CHECK(mkgrant(&pa, 1, "a1", 1, 10, &g) == 0 && g.id > 0 && g.state == GRANT_ASSIGNED,
	    "insert sets the id, assigned");
	CHECK_EQ_INT(mkgrant(&pa, 2, "a1", 1, 11, &h), ERR_CONFLICT, "one grant per pssid");
	CHECK_EQ_INT(mkgrant(&pa, 1, "a2", 1, 11, &h), ERR_CONFLICT, "one grant per address");
	CHECK(grant_get(db, g.id, &h) == 0 && h.pool_id == pa.id && h.index == 1 &&
		strcmp(h.address, "10.0.0.1") == 0 && strcmp(h.pssid, "a1") == 0 &&
		h.state == GRANT_ASSIGNED && h.agent_id == 1 && h.session_id == 10 &&
		h.assigned_at == T0 && h.hold_until == 0,
	    "get returns the stored grant");
	CHECK(grant_by_pssid(db, "a1", &h) == 0 && h.id == g.id, "by pssid");
	CHECK(grant_at(db, pa.id, 1, &h) == 0 && h.id == g.id, "at (pool, index)");
	CHECK_EQ_INT(grant_get(db, 9999, &h), ERR_NOT_FOUND, "get of an unknown id");
	CHECK_EQ_INT(grant_by_pssid(db, "nobody", &h), ERR_NOT_FOUND, "an unknown pssid");
	CHECK_EQ_INT(grant_at(db, pa.id, 2, &h), ERR_NOT_FOUND, "a free index");
	CHECK_EQ_INT(grant_at(db, pb.id, 1, &h), ERR_NOT_FOUND, "the same index of another pool");
}

static void
test_transitions(void)
{
	struct grant g, h;

	mkgrant(&pa, 3, "t1", 1, 20, &g);
	CHECK(grant_hold(db, g.id, T0 + 60) == 0 && grant_get(db, g.id, &h) == 0 &&
		h.state == GRANT_ON_HOLD && h.hold_until == T0 + 60 && h.session_id == 20,
	    "hold: on hold until the given time, same session");
	CHECK(grant_assign(db, &h, 2, 21, T0 + 5) == 0 && grant_get(db, g.id, &h) == 0 &&
		h.state == GRANT_ASSIGNED && h.hold_until == 0 && h.agent_id == 2 &&
		h.session_id == 21 && h.assigned_at == T0 + 5,
	    "assign: assigned to the new agent and session, the hold ended");
	CHECK(grant_delete(db, g.id) == 0 && grant_get(db, g.id, &h) == ERR_NOT_FOUND,
	    "delete removes the row");
	CHECK(mkgrant(&pa, 3, "t2", 1, 1, &h) == 0 && h.id > g.id,
	    "the address is free again; ids are never reused");
	grant_delete(db, h.id);
}

static void
test_list(void)
{
	struct grant_filter f = {0, NULL, -1};
	struct grant v[8], g;
	int n;

	/* pa: a1 (assigned, from test_insert_and_lookups); add a held, a lapsed, and pb ones. */
	mkgrant(&pa, 4, "held", 1, 1, &g);
	grant_hold(db, g.id, T0 + 100);
	mkgrant(&pa, 5, "lapsed", 1, 1, &g);
	grant_hold(db, g.id, T0 + 10);
	mkgrant(&pb, 1, "b1", 2, 1, &g);
	mkgrant(&pb, 2, "b2", 2, 1, &g);

	CHECK(grant_list(db, &f, T0 + 10, 0, 8, v, &n) == 0 && n == 4 &&
		strcmp(v[0].pssid, "a1") == 0 && strcmp(v[1].pssid, "held") == 0 &&
		strcmp(v[2].pssid, "b1") == 0 && strcmp(v[3].pssid, "b2") == 0,
	    "live grants by id; a lapsed hold is not listed");
	CHECK(grant_list(db, &f, T0 + 10, 0, 2, v, &n) == 0 && n == 2 &&
		grant_list(db, &f, T0 + 10, v[1].id, 8, v, &n) == 0 && n == 2 &&
		strcmp(v[0].pssid, "b1") == 0,
	    "paging: the next page starts after the cursor");
	f.pool_id = pb.id;
	CHECK(grant_list(db, &f, T0 + 10, 0, 8, v, &n) == 0 && n == 2 && v[0].pool_id == pb.id &&
		v[1].pool_id == pb.id,
	    "by pool");
	f.pool_id = 0;
	f.state = GRANT_ON_HOLD;
	CHECK(grant_list(db, &f, T0 + 10, 0, 8, v, &n) == 0 && n == 1 &&
		strcmp(v[0].pssid, "held") == 0,
	    "by state");
	f.state = -1;
	f.pssid = "b2";
	CHECK(grant_list(db, &f, T0 + 10, 0, 8, v, &n) == 0 && n == 1 &&
		strcmp(v[0].pssid, "b2") == 0,
	    "by pssid");
	f.pool_id = pa.id;
	CHECK(grant_list(db, &f, T0 + 10, 0, 8, v, &n) == 0 && n == 0, "by pssid and pool");
	f.pool_id = 0;
	f.pssid = "lapsed";
	CHECK(grant_list(db, &f, T0 + 9, 0, 8, v, &n) == 0 && n == 1,
	    "a hold is listed until it lapses");
}

static void
test_lapsed(void)
{
	struct grant v[4], g, l;
	int64_t rid;
	int n;

	/* pa has "held" (until T0 + 100) and "lapsed" (until T0 + 10). */
	CHECK(grant_list_lapsed(db, T0 + 9, 4, v, &n) == 0 && n == 0, "nothing lapsed yet");
	CHECK(grant_list_lapsed(db, T0 + 100, 4, v, &n) == 0 && n == 2 &&
		strcmp(v[0].pssid, "lapsed") == 0 && strcmp(v[1].pssid, "held") == 0,
	    "the lapsed holds, the oldest first");
	CHECK(grant_list_lapsed(db, T0 + 100, 1, v, &n) == 0 && n == 1 &&
		strcmp(v[0].pssid, "lapsed") == 0,
	    "at most max");
	CHECK(grant_first_lapsed(db, pa.id, T0 + 100, &l) == 0 && strcmp(l.pssid, "lapsed") == 0 &&
		l.index == 5,
	    "the pool's first lapsed hold");
	CHECK_EQ_INT(
	    grant_first_lapsed(db, pa.id, T0 + 9, &l), ERR_NOT_FOUND, "none before it lapses");
	CHECK_EQ_INT(grant_first_lapsed(db, pb.id, T0 + 100, &l), ERR_NOT_FOUND,
	    "none in a pool without holds");
	reservation_add(db, pa.id, 5, "10.0.0.5", "lapsed", T0, &rid);
	CHECK(grant_first_lapsed(db, pa.id, T0 + 100, &l) == 0 && strcmp(l.pssid, "held") == 0,
	    "a hold on a reserved address stays its pssid's");
	reservation_remove(db, pa.id, 5);
	grant_by_pssid(db, "lapsed", &g);
	grant_delete(db, g.id);
}

struct seen {
	int n, stop_at;
	int64_t ids[8], sessions[8];
	uint64_t isd_as[8];
};

static int
on_assigned(void *arg, int64_t id, int64_t session)
{
	struct seen *s = arg;

	s->ids[s->n] = id;
	s->sessions[s->n++] = session;
	return s->n == s->stop_at;
}

static int
on_agent(void *arg, const struct grant *g, uint64_t isd_as)
{
	struct seen *s = arg;

	s->ids[s->n] = g->id;
	s->isd_as[s->n++] = isd_as;
	return s->n == s->stop_at;
}

static void
test_agent(void)
{
	struct seen s = {0};
	struct grant a, b, c, h;

	mkgrant(&pa, 10, "ag1", 7, 100, &a);
	mkgrant(&pb, 10, "ag2", 7, 101, &b);
	mkgrant(&pb, 11, "ag3", 7, 102, &c);
	grant_hold(db, c.id, T0 + 50);
	mkgrant(&pa, 11, "other", 8, 100, &h);
	CHECK(grant_list_assigned(db, 7, on_assigned, &s) == 2 && s.n == 2 && s.ids[0] == a.id &&
		s.sessions[0] == 100 && s.ids[1] == b.id && s.sessions[1] == 101,
	    "an agent's assigned grants with their sessions, by id");
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	CHECK(grant_list_assigned(db, 7, on_assigned, &s) == 1 && s.n == 1,
	    "the callback stops the walk");
	memset(&s, 0, sizeof(s));
	CHECK(grant_list_assigned(db, 99, on_assigned, &s) == 0 && s.n == 0,
	    "an agent without grants");

	memset(&s, 0, sizeof(s));
	CHECK(grant_list_agent(db, 7, T0, 0, 10, on_agent, &s) == 3 && s.ids[0] == a.id &&
		s.isd_as[0] == IA_110 && s.ids[1] == b.id && s.isd_as[1] == IA_111 &&
		s.ids[2] == c.id,
	    "an agent's live grants, assigned and held, by id, with their pools' ISD-AS");
	memset(&s, 0, sizeof(s));
	CHECK(grant_list_agent(db, 7, T0 + 50, 0, 10, on_agent, &s) == 2 && s.ids[1] == b.id,
	    "a lapsed hold is not sent");
	memset(&s, 0, sizeof(s));
	CHECK(grant_list_agent(db, 7, T0, a.id, 1, on_agent, &s) == 1 && s.ids[0] == b.id,
	    "paged: after the cursor, at most limit");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	CHECK(grant_list_agent(db, 7, T0, 0, 10, on_agent, &s) == 2 && s.n == 2,
	    "the callback stops the walk");
}

static void
test_history(void)
{
	struct grant_event v[4];
	struct grant g;
	int n;

	mkgrant(&pa, 20, "hist", 3, 30, &g);
	grant_history_add(db, &g, "assign", "agent:3", T0);
	g.state = GRANT_ON_HOLD;
	g.hold_until = T0 + 600;
	grant_history_add(db, &g, "hold", "agent:3", T0 + 1);
	g.state = GRANT_ASSIGNED;
	grant_history_add(db, &g, "release", "op", T0 + 2);
	CHECK(grant_history(db, g.id, 0, 4, v, &n) == 0 && n == 3 &&
		strcmp(v[0].action, "assign") == 0 && strcmp(v[0].actor, "agent:3") == 0 &&
		v[0].hold_until == 0 && strcmp(v[0].address, "10.0.0.20") == 0 &&
		strcmp(v[0].pssid, "hist") == 0 && v[0].pool_id == pa.id && v[0].session_id == 30 &&
		v[0].agent_id == 3 && v[0].at == T0,
	    "the history, oldest first, as recorded");
	CHECK(strcmp(v[1].action, "hold") == 0 && v[1].hold_until == T0 + 600 &&
		strcmp(v[2].action, "release") == 0 && v[2].hold_until == 0,
	    "a hold records its end; the rest record none");
	CHECK(grant_history(db, g.id, v[0].id, 1, v, &n) == 0 && n == 1 &&
		strcmp(v[0].action, "hold") == 0,
	    "paged: after the cursor, at most limit");
	CHECK(grant_history(db, 9999, 0, 4, v, &n) == 0 && n == 0, "no history of an unknown id");
}

int
main(void)
{
	char path[512];

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/store_grant.db", check_tmpdir());
	if (db_open(path, &db) < 0) {
		printf("not ok - cannot open %s\n", path);
		return 1;
	}
	mkpool(&pa, "pa", IA_110, "10.0.0.0/24");
	mkpool(&pb, "pb", IA_111, "10.1.0.0/24");
	test_states();
	test_insert_and_lookups();
	test_transitions();
	test_list();
	test_lapsed();
	test_agent();
	test_history();
	db_close(db);
	return check_done();
}
