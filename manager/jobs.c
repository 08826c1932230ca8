/* The rounds of background jobs and the lease that picks which manager runs them. See
 * jobs.h. */
#include <assert.h>

#include "../db/db.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "agentlink.h"
#include "agentlost.h"
#include "alloc.h"
#include "app.h"
#include "jobs.h"
#include "jointoken.h"
#include "revoke.h"
#include "signkeys.h"

/* Whether this manager runs the store-wide jobs this round. A change is logged once, where
 * other managers may share the store (alone on SQLite, it always runs them). */
static int
lease(struct app *app)
{
	int rv = db_jobs_lease(app->db), leader = rv == 1;

	if (db_shared(app->db) && leader && !app->jobs_leader)
		log_info("running the background jobs: this manager holds the store's jobs lease");
	else if (db_shared(app->db) && !leader && app->jobs_leader)
		log_warn("standing by: the store's jobs lease is %s",
		    rv == 0 ? "held by another manager" : "lost with the store's connection");
	app->jobs_leader = leader;
	return leader;
}

/* Lapsed holds and tokens are refused whether or not they were swept: correctness never waits
 * for these, so a round skipped while the lease moves costs nothing but a late row. */
static void
store_jobs(struct app *app)
{
	int n;

	if ((n = alloc_sweep(app->db, app->now(), JOBS_BATCH)) > 0)
		log_info("expired %d lapsed holds", n);
	else if (n < 0)
		log_warn("sweeping lapsed holds failed; retrying later");
	if (agentlost_sweep(app->db, app->link, app->manager_id, app->started_at,
		app->agent_lost_after, app->now(), JOBS_BATCH) < 0)
		log_warn("holding the grants of lost agents failed; retrying later");
	if ((n = jointoken_sweep(app->db, app->now(), JOBS_BATCH)) > 0)
		log_info("%d join tokens expired or reverted", n);
	else if (n < 0)
		log_warn("sweeping join tokens failed; retrying later");
	if ((n = revoke_sweep(app->db, app->now(), JOBS_BATCH)) > 0)
		log_info("%d revocations of unacknowledged enrollments expired", n);
	else if (n < 0)
		log_warn("sweeping expired revocations failed; retrying later");
	/* The keys live in the store: the other managers take the retirement up from the
	 * outbox (signkeys_reload). */
	if (signkeys_retire_due(app->keys, app->now()) < 0)
		log_warn("retiring signing keys failed; retrying later");
}

void
jobs_run(struct app *app)
{
	/* Every loop turn flushes its batch before the timers run (serve_turn). */
	assert(!db_in_tx(app->db));
	if (lease(app))
		store_jobs(app);
	/* What the round changed (retired keys, lifted revocations) goes to the agents now. */
	agentlink_flush(app->link);
	agentlink_sweep(app->link);
}
