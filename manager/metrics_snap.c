#include <stdlib.h>
#include <string.h>

#include "../db/client.h"
#include "../db/db.h"
#include "../db/jointoken.h"
#include "../lib/err.h"
#include "agentlink.h"
#include "app.h"
#include "metrics.h"
#include "metrics_snap.h"
#include "sessions.h"

#define POOL_PAGE 256

static int
gather_pools(struct app *app, struct metrics_snap *s)
{
	struct pool *page;
	int64_t after = 0, now = app->now();
	int n, rv = 0;

	if ((page = calloc(POOL_PAGE, sizeof(*page))) == NULL)
		return ERR_NOMEM;
	do {
		struct metrics_snap_pool *np;

		if ((rv = pool_list(app->db, after, POOL_PAGE, page, &n)) < 0 || n == 0)
			break;
		if ((np = realloc(s->pools, (s->npools + (size_t)n) * sizeof(*np))) == NULL) {
			rv = ERR_NOMEM;
			break;
		}
		s->pools = np;
		for (int i = 0; i < n && rv == 0; i++) {
			struct metrics_snap_pool *p = &s->pools[s->npools++];

			snprintf(p->name, sizeof(p->name), "%s", page[i].name);
			rv = pool_counts(app->db, &page[i], now, &p->c);
		}
		after = page[n - 1].id;
	} while (rv == 0 && n == POOL_PAGE);
	free(page);
	return rv;
}

static int
gather_agents(struct app *app, struct metrics_snap *s)
{
	const struct metrics *m = app->metrics;
	struct sessions *sess;

	if (m == NULL || m->nagents == 0)
		return 0;
	if ((s->agents = calloc(m->nagents, sizeof(*s->agents))) == NULL)
		return ERR_NOMEM;
	sess = app->link != NULL ? agentlink_sessions(app->link) : NULL;
	for (size_t i = 0; i < m->nagents; i++) {
		const struct metrics_agent *a = &m->agents[i];
		struct metrics_snap_agent *sa = &s->agents[s->nagents++];

		sa->id = a->id;
		sa->connected = app->link != NULL && agentlink_connected(app->link, a->id, NULL);
		sa->sessions = sess != NULL ? sessions_count(sess, a->id) : 0;
		s->agents_connected += (size_t)sa->connected;
		counters_add(&s->traffic, &a->base);
		counters_add(&s->traffic, &a->last);
		tunevents_add(&s->events, &a->base_ev);
		tunevents_add(&s->events, &a->last_ev);
		s->agent_restarts += a->restarts;
	}
	return 0;
}

int
metrics_snap_gather(struct app *app, struct metrics_snap *s)
{
	int rv;

	memset(s, 0, sizeof(*s));
	s->started_at = app->started_at;
	s->jobs_leader = app->jobs_leader;
	s->live = app->metrics;
	s->store_tx = *db_tx_latency(app->db);
	if ((rv = gather_pools(app, s)) < 0 ||
	    (rv = jointoken_count_by_state(app->db, app->now(), s->tokens)) < 0 ||
	    (rv = client_count(app->db, &s->clients, &s->clients_revoked)) < 0 ||
	    (rv = gather_agents(app, s)) < 0) {
		metrics_snap_free(s);
		return rv;
	}
	return 0;
}

void
metrics_snap_free(struct metrics_snap *s)
{
	free(s->pools);
	free(s->agents);
	memset(s, 0, sizeof(*s));
}
