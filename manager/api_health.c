/* /v1/health: unauthenticated, for load balancers and monitoring. */
#include "../db/db.h"
#include "../lib/clock.h"
#include "api.h"
#include "app.h"

void
api_health_get(struct req *r)
{
	int db_ok = db_ping(r->app->db) == 0;

	reply_json(r, db_ok ? 200 : 503, json_pack("{s:s, s:s, s:I, s:s}",
	    "status", db_ok ? "ok" : "degraded", "version", SNAPTUN_VERSION,
	    "uptime_seconds", (json_int_t)((clock_mono_ns() - r->app->started_mono) / 1000000000u),
	    "db", db_ok ? "ok" : "error"));
}
