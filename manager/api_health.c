/* /v1/health: unauthenticated, for load balancers, orchestrators and monitoring. Without a query
 * it answers readiness: 200 only when the store takes writes and at least one agent is
 * connected, else 503 naming what is not ready. ?live answers liveness: 200 while the process
 * serves at all (what a supervisor that restarts dead processes asks). */
#include <stdio.h>

#include "../db/db.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "agentlink.h"
#include "api.h"
#include "app.h"

static void
count_peer(void *arg, const struct agentlink_peer *p)
{
	(void)p;
	(*(unsigned *)arg)++;
}

static unsigned long long
uptime(const struct req *r)
{
	return (unsigned long long)((clock_mono_ns() - r->app->started_mono) / 1000000000u);
}

/* Whether this manager runs the store's background jobs (jobs.h) or stands by. */
static const char *
jobs_role(const struct app *app)
{
	return app->jobs_leader ? "leader" : "standby";
}

void
api_health_get(struct req *r)
{
	char body[352], listener[160] = "";
	unsigned agents = 0;
	int rv;

	if (req_query_has(r, "live")) {
		/* The probe of supervisors, polled often: formatted directly, which costs a
		 * fraction of building and dumping a JSON object. */
		snprintf(body, sizeof(body),
		    "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_seconds\":%llu}\n",
		    SNAPTUN_VERSION, uptime(r));
		reply_json_text(r, 200, body);
		return;
	}
	agentlink_peers(r->app->link, count_peer, &agents);
	rv = db_writable(r->app->db);
	if (rv == 0 && agents > 0) {
		/* What an operator pins an agent on another host to (proto/README.md §2.8). */
		if (agentlink_tls_pin(r->app->link) != NULL)
			snprintf(listener, sizeof(listener),
			    ",\"agent_listener\":{\"address\":\"%s\",\"pin\":\"%s\"}",
			    agentlink_tls_address(r->app->link), agentlink_tls_pin(r->app->link));
		snprintf(body, sizeof(body),
		    "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_seconds\":%llu,\"db\":\"ok\","
		    "\"agents_connected\":%u,\"jobs\":\"%s\"%s}\n",
		    SNAPTUN_VERSION, uptime(r), agents, jobs_role(r->app), listener);
		reply_json_text(r, 200, body);
		return;
	}
	r->retry_after = 1;
	if (rv < 0 && agents == 0)
		reply_problem(r, 503, "db",
		    "not ready: the store does not take writes (%s), and no agent is connected",
		    err_str(rv));
	else if (rv < 0)
		reply_problem(
		    r, 503, "db", "not ready: the store does not take writes (%s)", err_str(rv));
	else
		reply_problem(r, 503, "agents", "not ready: no agent is connected");
	/* Each part's state as a member too, for monitors that read JSON rather than prose. */
	json_object_set_new(r->reply, "db", json_string(rv < 0 ? "error" : "ok"));
	json_object_set_new(r->reply, "agents_connected", json_integer(agents));
	json_object_set_new(r->reply, "jobs", json_string(jobs_role(r->app)));
	json_object_set_new(r->reply, "version", json_string(SNAPTUN_VERSION));
}
