/* Holding the grants of agents that stay away. See agentlost.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "../db/agents.h"
#include "../db/audit.h"
#include "../db/db.h"
#include "../db/grant.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "agentlink.h"
#include "agentlost.h"
#include "alloc.h"

#define AGENTS_PAGE 64

/* Hold the grants collected in a, as actor. The number held, or err. */
static int
hold_collected(struct db *db, const struct grant_ids *a, const char *actor, int64_t now)
{
	int rv, held = 0;

	for (size_t i = 0; i < a->n; i++) {
		/* Fenced by the grant's own session: a grant that moved on since it was read
		 * (no other writer runs here, but the rule costs nothing) is left alone. */
		rv = alloc_hold(db, a->v[i][0], a->v[i][1], actor, now, NULL);
		if (rv == ERR_NOT_FOUND || rv == ERR_STALE_SESSION)
			continue;
		if (rv < 0)
			return rv;
		held++;
	}
	return held;
}

int
agentlost_hold(struct db *db, int64_t id, const char *actor, int64_t now)
{
	struct grant_ids a = {0};
	int rv;

	if ((rv = grant_list_assigned(db, id, grant_ids_collect, &a)) >= 0)
		rv = hold_collected(db, &a, actor, now);
	free(a.v);
	return rv;
}

/* Hold what a (away since last) still has assigned, up to a->max grants, with its audit event,
 * in one transaction. The number held, or err. */
static int
hold_agent(struct db *db, int64_t id, int64_t last, struct grant_ids *a, int64_t now)
{
	char actor[48], object[32], since[32];
	json_t *details = NULL;
	int rv, held = 0;

	a->n = 0;
	if ((rv = grant_list_assigned(db, id, grant_ids_collect, a)) <= 0 || a->n == 0)
		return rv;
	snprintf(actor, sizeof(actor), "agent:%lld lost", (long long)id);
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = held = hold_collected(db, a, actor, now)) < 0)
		goto fail;
	clock_rfc3339(last, since, sizeof(since));
	snprintf(object, sizeof(object), "agent:%lld", (long long)id);
	if ((details = json_pack(
		 "{s:s, s:I}", "away_since", since, "held_grants", (json_int_t)held)) == NULL) {
		rv = ERR_NOMEM;
		goto fail;
	}
	if ((rv = audit_append(db, now, "snaptun-manager", "agent.lost", object, details)) < 0)
		goto fail;
	json_decref(details);
	if ((rv = db_commit(db)) < 0)
		return rv;
	log_info("agent %lld away since %s: %d grants put on hold", (long long)id, since, held);
	return held;
fail:
	json_decref(details);
	db_rollback(db);
	return rv;
}

int
agentlost_sweep(struct db *db, struct agentlink *link, const char *self, int64_t since,
    int64_t lost_after, int64_t now, int max)
{
	struct agent_row rows[AGENTS_PAGE];
	struct grant_ids a = {0};
	int64_t after = 0, last;
	int n, total = 0, rv = 0;

	if (max <= 0)
		return 0;
	do {
		if ((rv = agents_list(db, after, AGENTS_PAGE, rows, &n)) < 0)
			break;
		for (int i = 0; i < n; i++) {
			after = rows[i].id;
			last = since;
			if (rows[i].last_heartbeat > last)
				last = rows[i].last_heartbeat;
			if (rows[i].last_hello > last)
				last = rows[i].last_hello;
			/* Attached here, or to another manager on the store that is alive
			 * (this one may run the jobs for agents it never sees). */
			if (rv < 0 || total == max || now - last < lost_after ||
			    (link != NULL &&
				agentlink_connected(link, (uint64_t)rows[i].id, NULL)) ||
			    agents_attached_elsewhere(&rows[i], self, now))
				continue;
			a.max = (size_t)(max - total);
			if ((rv = hold_agent(db, rows[i].id, last, &a, now)) > 0)
				total += rv;
		}
		for (int i = 0; i < n; i++)
			agents_row_clear(&rows[i]);
	} while (rv >= 0 && n == AGENTS_PAGE && total < max);
	free(a.v);
	return rv < 0 ? rv : total;
}
