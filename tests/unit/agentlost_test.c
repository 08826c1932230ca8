/* Agents that stay away: their assigned grants go on hold for the pool's hold time once they
 * have been away --agent-lost-after seconds (counted from the last heartbeat, the last HELLO or
 * the manager's start, whichever is latest), with a "hold" in each grant's history and one
 * "agent.lost" audit event; agents away for less, and other agents' grants, are untouched; the
 * work per call is bounded. Time is passed in. */
#include <stdio.h>
#include <string.h>

#include "../../db/agents.h"
#include "../../db/audit.h"
#include "../../db/db.h"
#include "../../db/pool.h"
#include "../../lib/err.h"
#include "../../manager/agentlost.h"
#include "../../manager/alloc.h"
#include "check.h"

#define T0 1700000000
#define HOLD 600
#define AFTER 120
#define SELF "m1" /* this manager's id */

static struct db *db;

static int64_t
mkpool(void)
{
	struct pool_conflict c;
	struct pool p = {0};
	const char *why;
	char whybuf[64];

	snprintf(p.name, sizeof(p.name), "edge");
	p.isd_as = 0x0001ff0000000110ULL;
	if (prefix_parse("10.9.0.0/24", &p.prefix, whybuf, sizeof(whybuf), &why) < 0)
		return -1;
	p.hold_seconds = HOLD;
	return pool_create(db, &p, T0, &c) == 0 ? p.id : -1;
}

/* A HELLO of agent id to the manager named manager ("": none). */
static void
hello_to(int64_t id, const char *manager, int64_t now)
{
	struct agent_row a = {0};

	a.id = id;
	snprintf(a.manager, sizeof(a.manager), "%s", manager);
	snprintf(a.software_version, sizeof(a.software_version), "snaptun test");
	a.channel_version = 1;
	agents_hello(db, &a, now);
}

static void
hello(int64_t id, int64_t now)
{
	hello_to(id, "", now);
}

static int64_t
grant(int64_t agent, const char *pssid, int64_t session)
{
	struct alloc_req r = {pssid, 0, 4, NULL, session, agent, "test", 0, 0};
	struct grant g;
	char why[200];

	return alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 ? g.id : -1;
}

static int
count_event(void *arg, const struct audit_event *e)
{
	int *n = arg;

	(void)e;
	(*n)++;
	return 0;
}

static int
lost_events(void)
{
	struct audit_filter f = {.action = "agent.lost", .object = "agent:1"};
	int n = 0;

	audit_list(db, &f, 0, 100, count_event, &n);
	return n;
}

int
main(void)
{
	char path[512];
	struct grant g, h[4];
	struct grant_event ev[8];
	int64_t g1, g2, g3, g4, g5;
	int n;

	snprintf(path, sizeof(path), "%s/agentlost.db", check_tmpdir());
	if (db_open(path, &db) < 0 || mkpool() < 0) {
		CHECK(0, "a store with a pool");
		return check_done();
	}
	hello(1, T0);
	hello(2, T0);
	g1 = grant(1, "a0b1c2d3-0000-4000-8000-000000000001", 11);
	g2 = grant(1, "a0b1c2d3-0000-4000-8000-000000000002", 12);
	g3 = grant(2, "a0b1c2d3-0000-4000-8000-000000000003", 13);
	CHECK(g1 > 0 && g2 > 0 && g3 > 0, "agent 1 has two grants, agent 2 one");
	agents_report(db, 2, SELF, T0 + 200, 1, NULL);

	CHECK_EQ_INT(agentlost_sweep(db, NULL, SELF, T0, AFTER, T0 + AFTER - 1, 100), 0,
	    "away for less than --agent-lost-after: nothing is held");
	CHECK_EQ_INT(agentlost_sweep(db, NULL, SELF, T0 + 100, AFTER, T0 + AFTER + 50, 100), 0,
	    "away time counts from the manager's start when that is later");
	CHECK_EQ_INT(agentlost_sweep(db, NULL, SELF, T0, AFTER, T0 + AFTER, 1), 1,
	    "away long enough: at most max grants per call");
	CHECK_EQ_INT(agentlost_sweep(db, NULL, SELF, T0, AFTER, T0 + AFTER + 1, 100), 1,
	    "the next call holds the rest");
	CHECK(grant_get(db, g1, &h[0]) == 0 && h[0].state == GRANT_ON_HOLD &&
		h[0].hold_until == T0 + AFTER + HOLD,
	    "the first grant is on hold for the pool's hold time from then");
	CHECK(grant_get(db, g2, &h[1]) == 0 && h[1].state == GRANT_ON_HOLD &&
		h[1].hold_until == T0 + AFTER + 1 + HOLD,
	    "so is the second");
	CHECK(grant_get(db, g3, &h[2]) == 0 && h[2].state == GRANT_ASSIGNED,
	    "the grant of agent 2, heard from later, stays assigned");
	CHECK(grant_history(db, g1, 0, 8, ev, &n) == 0 && n == 2 &&
		strcmp(ev[1].action, "hold") == 0 && strcmp(ev[1].actor, "agent:1 lost") == 0 &&
		ev[1].hold_until == T0 + AFTER + HOLD,
	    "its history has the hold, by \"agent:1 lost\"");
	CHECK_EQ_INT(lost_events(), 2, "an agent.lost audit event per call that held grants");
	CHECK_EQ_INT(agentlost_sweep(db, NULL, SELF, T0, AFTER, T0 + AFTER + 2, 100), 0,
	    "held grants are not held again");

	/* A grant the agent takes back (its client came back through another agent, or the
	 * agent reconnected and asked again) is assigned afresh. */
	g4 = grant(1, "a0b1c2d3-0000-4000-8000-000000000001", 21);
	CHECK(g4 == g1 && grant_get(db, g1, &g) == 0 && g.state == GRANT_ASSIGNED,
	    "the held address goes back to its pssid");
	hello(1, T0 + 300);
	CHECK(agentlost_sweep(db, NULL, SELF, T0, AFTER, T0 + 300 + AFTER - 1, 100) == 1 &&
		grant_get(db, g3, &h[2]) == 0 && h[2].state == GRANT_ON_HOLD &&
		grant_get(db, g1, &g) == 0 && g.state == GRANT_ASSIGNED,
	    "an agent that said HELLO since is not lost (agent 2, silent since, is)");
	CHECK(agentlost_sweep(db, NULL, SELF, T0, AFTER, T0 + 300 + AFTER, 100) == 1 &&
		grant_get(db, g1, &g) == 0 && g.state == GRANT_ON_HOLD,
	    "until it is away long enough again");

	/* Several managers on the store: this one runs the jobs for agents it does not see. */
	hello_to(3, "m2", T0 + 1000);
	g5 = grant(3, "a0b1c2d3-0000-4000-8000-000000000005", 31);
	CHECK(g5 > 0, "agent 3, attached to manager m2, has a grant");
	CHECK_EQ_INT(agentlost_sweep(db, NULL, SELF, T0, 5, T0 + 1000 + 10, 100), 0,
	    "an agent attached to another manager that keeps its row fresh is not lost");
	CHECK(agentlost_sweep(db, NULL, SELF, T0, 5, T0 + 1000 + AGENTS_FRESH_SECONDS + 1, 100) ==
		    1 &&
		grant_get(db, g5, &g) == 0 && g.state == GRANT_ON_HOLD,
	    "once that manager stopped writing it (it died), the agent is away from then");
	hello_to(3, SELF, T0 + 2000);
	g5 = grant(3, "a0b1c2d3-0000-4000-8000-000000000005", 32);
	CHECK(agentlost_sweep(db, NULL, SELF, T0, 5, T0 + 2000 + 10, 100) == 1 &&
		grant_get(db, g5, &g) == 0 && g.state == GRANT_ON_HOLD,
	    "an attachment to this manager that its channel does not show is over");
	db_close(db);
	return check_done();
}
