/* /v1/grants */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../db/grant.h"
#include "../lib/err.h"
#include "../lib/pssid.h"
#include "alloc.h"
#include "api.h"
#include "app.h"

static json_t *
grant_json(const struct grant *g)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "id", (json_int_t)g->id,
	    "pool_id", (json_int_t)g->pool_id, "address", g->address, "pssid", g->pssid, "state",
	    grant_state_str(g->state), "agent_id", (json_int_t)g->agent_id, "session_id",
	    (json_int_t)g->session_id, "assigned_at", api_time(g->assigned_at), "hold_until",
	    api_time(g->state == GRANT_ON_HOLD ? g->hold_until : 0));
}

/* The grant named by the path, if it is live (a lapsed hold is free, hence gone). */
static int
live_grant(struct req *r, struct grant *g)
{
	int64_t id = req_param_id(r, 0, "grant");
	int rv;

	if (id < 0)
		return -1;
	rv = grant_get(r->app->db, id, g);
	if (rv == 0 && g->state == GRANT_ON_HOLD && g->hold_until <= r->app->now())
		rv = ERR_NOT_FOUND;
	if (rv < 0) {
		api_fail(r, rv, NULL,
		    rv == ERR_NOT_FOUND ? "no such grant (released or lapsed; "
					  "its history stays at /v1/grants/{id}/history)"
					: NULL);
		return -1;
	}
	return 0;
}

void
api_grants_list(struct req *r)
{
	struct grant_filter f = {0, NULL, -1};
	const char *state = req_query(r, "state");
	struct grant *v;
	enum grant_state s;
	json_t *items;
	int64_t after;
	int limit, n, rv;

	if (req_page(r, &limit, &after) < 0)
		return;
	if (req_query_id(r, "pool", &f.pool_id) < 0)
		return;
	f.pssid = req_query(r, "pssid");
	if (f.pssid != NULL && !pssid_valid(f.pssid)) {
		reply_problem(r, 400, "pssid", "invalid pssid");
		return;
	}
	if (state != NULL) {
		if (grant_state_parse(state, &s) < 0) {
			reply_problem(r, 400, "state", "state must be \"assigned\" or \"on_hold\"");
			return;
		}
		f.state = (int)s;
	}
	if ((v = calloc((size_t)limit, sizeof(*v))) == NULL) {
		api_fail(r, ERR_NOMEM, NULL, NULL);
		return;
	}
	if ((rv = grant_list(r->app->db, &f, r->app->now(), after, limit, v, &n)) < 0) {
		free(v);
		api_fail(r, rv, NULL, NULL);
		return;
	}
	items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, grant_json(&v[i]));
	api_reply_page(r, items, n, limit, n ? v[n - 1].id : 0);
	free(v);
}

void
api_grants_get(struct req *r)
{
	struct grant g;

	if (live_grant(r, &g) == 0)
		reply_json(r, 200, grant_json(&g));
}

void
api_grants_delete(struct req *r)
{
	struct grant g;
	char object[32];
	json_t *details;
	int rv;

	if (live_grant(r, &g) < 0 || api_begin(r) < 0)
		return;
	if ((rv = alloc_release(r->app->db, g.id, -1, r->actor, r->app->now())) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	snprintf(object, sizeof(object), "grant:%lld", (long long)g.id);
	details = json_pack("{s:s, s:s, s:I}", "address", g.address, "pssid", g.pssid, "pool_id",
	    (json_int_t)g.pool_id);
	rv = api_commit(r, "grant.release", object, details);
	json_decref(details);
	if (rv == 0)
		reply_empty(r, 204);
}

void
api_grants_history(struct req *r)
{
	int64_t id = req_param_id(r, 0, "grant"), after;
	struct grant_event *v;
	json_t *items;
	int limit, n, rv;

	if (id < 0 || req_page(r, &limit, &after) < 0)
		return;
	if ((v = calloc((size_t)limit, sizeof(*v))) == NULL) {
		api_fail(r, ERR_NOMEM, NULL, NULL);
		return;
	}
	if ((rv = grant_history(r->app->db, id, after, limit, v, &n)) < 0 ||
	    (n == 0 && after == 0)) {
		free(v);
		api_fail(r, rv < 0 ? rv : ERR_NOT_FOUND, NULL, rv < 0 ? NULL : "no such grant");
		return;
	}
	items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items,
		    json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:o, "
			      "s:s, s:o}",
			"id", (json_int_t)v[i].id, "action", v[i].action, "address", v[i].address,
			"pssid", v[i].pssid, "pool_id", (json_int_t)v[i].pool_id, "session_id",
			(json_int_t)v[i].session_id, "agent_id", (json_int_t)v[i].agent_id,
			"hold_until", api_time(v[i].hold_until), "actor", v[i].actor, "at",
			api_time(v[i].at)));
	api_reply_page(r, items, n, limit, n ? v[n - 1].id : 0);
	free(v);
}
