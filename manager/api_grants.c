/* /v1/grants */
#include <stdio.h>
#include <stddef.h>
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

static int
fetch_grants(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	return grant_list(r->app->db, arg, r->app->now(), after, limit, v, n);
}

static json_t *
render_grant(struct req *r, const void *rec)
{
	(void)r;
	return grant_json(rec);
}

static const struct api_list grant_page = {
    sizeof(struct grant), offsetof(struct grant, id), fetch_grants, render_grant, NULL, NULL};

void
api_grants_list(struct req *r)
{
	struct grant_filter f = {0, NULL, -1};
	const char *state = req_query(r, "state");
	enum grant_state s;

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
	api_list_page(r, &grant_page, &f);
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

/* A grant's history; an empty first page is a grant that never was. */
static int
fetch_history(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	int rv = grant_history(r->app->db, *(const int64_t *)arg, after, limit, v, n);

	return rv == 0 && *n == 0 && after == 0 ? ERR_NOT_FOUND : rv;
}

static json_t *
render_event(struct req *r, const void *rec)
{
	const struct grant_event *e = rec;

	(void)r;
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:s, s:o}", "id",
	    (json_int_t)e->id, "action", e->action, "address", e->address, "pssid", e->pssid,
	    "pool_id", (json_int_t)e->pool_id, "session_id", (json_int_t)e->session_id, "agent_id",
	    (json_int_t)e->agent_id, "hold_until", api_time(e->hold_until), "actor", e->actor, "at",
	    api_time(e->at));
}

static const struct api_list history_page = {sizeof(struct grant_event),
    offsetof(struct grant_event, id), fetch_history, render_event, NULL, "no such grant"};

void
api_grants_history(struct req *r)
{
	int64_t id = req_param_id(r, 0, "grant");

	if (id >= 0)
		api_list_page(r, &history_page, &id);
}
