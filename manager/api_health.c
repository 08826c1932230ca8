/* /v1/health: unauthenticated, for load balancers and monitoring. */
#include <stdio.h>

#include "../db/db.h"
#include "../lib/clock.h"
#include "api.h"
#include "app.h"

void
api_health_get(struct req *r)
{
	int db_ok = db_ping(r->app->db) == 0;
	char body[160];

	/* The probe of load balancers and monitors, polled often: formatted directly, which
	 * costs a fraction of building and dumping a JSON object. */
	snprintf(body, sizeof(body),
	    "{\"status\":\"%s\",\"version\":\"%s\","
	    "\"uptime_seconds\":%llu,\"db\":\"%s\"}\n",
	    db_ok ? "ok" : "degraded", SNAPTUN_VERSION,
	    (unsigned long long)((clock_mono_ns() - r->app->started_mono) / 1000000000u),
	    db_ok ? "ok" : "error");
	reply_json_text(r, db_ok ? 200 : 503, body);
}
