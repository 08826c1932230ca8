/* /v1/agents: the data-plane agents that ever attached, and whether they are attached now; and
 * the connected agents as a join bundle lists them. */
#include <stddef.h>
#include <stdlib.h>

#include <stdio.h>

#include "../db/agentcred.h"
#include "../db/agents.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "agentlink.h"
#include "agentlost.h"
#include "api.h"
#include "app.h"
#include "sessions.h"

#define BUNDLE_PAGE 64

const struct body_field api_agent_update_body[1] = {
    {"name", BODY_STRING, 1},
};

/* The agent's last STATS as the store keeps it (agentlink.c: the time in Unix seconds, the
 * counters named as a session's), with the time in RFC 3339 like every time of the API. NULL
 * when there is none. */
static json_t *
stats_json(const char *text)
{
	json_t *o = text != NULL ? json_loads(text, 0, NULL) : NULL;
	json_t *at = o != NULL ? json_object_get(o, "at") : NULL;

	if (json_is_integer(at))
		json_object_set_new(o, "at", api_time((int64_t)json_integer_value(at)));
	return o;
}

static json_t *
agent_json(struct app *app, const struct agent_row *a)
{
	int64_t heard = a->last_heartbeat;
	int here = agentlink_connected(app->link, (uint64_t)a->id, &heard);
	/* Attached to another manager on the store: what that one last wrote of it. */
	int elsewhere = !here && agents_attached_elsewhere(a, app->manager_id, app->now());
	int connected = here || elsewhere;
	json_t *stats = stats_json(a->last_stats);
	size_t sessions = here ? sessions_count(agentlink_sessions(app->link), (uint64_t)a->id)
	    : elsewhere        ? (size_t)a->sessions
			       : 0;

	json_t *o = json_pack("{s:I, s:s, s:b, s:s, s:s, s:i, s:o, s:o, s:o, s:I, s:o}", "id",
	    (json_int_t)a->id, "software_version", a->software_version, "connected", connected,
	    "listen_address", a->listen_address, "spki_pin", a->spki_pin, "channel_version",
	    a->channel_version, "first_seen", api_time(a->first_seen), "last_hello",
	    api_time(a->last_hello), "last_heartbeat", api_time(heard), "sessions",
	    (json_int_t)sessions, "last_stats", stats != NULL ? stats : json_null());
	struct agent_cred c;

	/* An agent enrolled for the network channel: its name, its client certificate's pin and
	 * whether it is revoked; a local agent (UNIX socket) has none of these. */
	if (o != NULL && agentcred_get(app->db, a->id, &c) == 0)
		json_object_set_new(o, "enrolled",
		    json_pack("{s:s, s:s, s:o, s:b, s:o}", "name", c.name, "client_pin",
			c.client_pin, "enrolled_at", api_time(c.enrolled_at), "revoked",
			c.revoked_at != 0, "revoked_at", api_time(c.revoked_at)));
	return o;
}

static int
fetch_agents(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	(void)arg;
	return agents_list(r->app->db, after, limit, v, n);
}

static json_t *
render_agent(struct req *r, const void *rec)
{
	return agent_json(r->app, rec);
}

static void
clear_agent(void *rec)
{
	agents_row_clear(rec);
}

static const struct api_list agent_list = {sizeof(struct agent_row), offsetof(struct agent_row, id),
    fetch_agents, render_agent, clear_agent, NULL};

void
api_agents_list(struct req *r)
{
	api_list_page(r, &agent_list, NULL);
}

void
api_agents_get(struct req *r)
{
	int64_t id = req_param_id(r, 0, "agent");
	struct agent_row a;
	int rv;

	if (id < 0)
		return;
	if ((rv = agents_get(r->app->db, id, &a)) < 0) {
		api_fail(r, rv, NULL, rv == ERR_NOT_FOUND ? "no such agent" : NULL);
		return;
	}
	reply_json(r, 200, agent_json(r->app, &a));
	agents_row_clear(&a);
}

/* The credential of the enrolled agent the route names, or a reply: 0 or -1. */
static int
enrolled(struct req *r, int64_t *id, struct agent_cred *c)
{
	int rv;

	if ((*id = req_param_id(r, 0, "agent")) < 0)
		return -1;
	if ((rv = agentcred_get(r->app->db, *id, c)) < 0) {
		api_fail(r, rv, NULL,
		    rv == ERR_NOT_FOUND ? "no enrolled agent with that id (a local agent has no "
					  "name and cannot be revoked)"
					: NULL);
		return -1;
	}
	return 0;
}

void
api_agents_update(struct req *r)
{
	const char *name = json_string_value(json_object_get(r->json, "name"));
	struct agent_cred c;
	char object[32];
	json_t *details;
	int64_t id;
	int rv;

	if (!text_name_valid(name, AGENTCRED_NAME_MAX, 0)) {
		reply_problem(r, 400, "name",
		    "name must be 1 to %d characters without control characters",
		    AGENTCRED_NAME_MAX);
		return;
	}
	if (enrolled(r, &id, &c) < 0 || api_begin(r) < 0)
		return;
	if ((rv = agentcred_rename(r->app->db, id, name)) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	snprintf(object, sizeof(object), "agent:%lld", (long long)id);
	details = json_pack("{s:s, s:s}", "name", name, "was", c.name);
	rv = api_commit(r, "agent.rename", object, details);
	json_decref(details);
	if (rv == 0)
		api_agents_get(r);
}

/* POST /v1/agents/{id}/revoke: its credential refused from now on, its channel closed at once,
 * its assigned grants on hold as when an agent is lost. Revoking again changes nothing. */
void
api_agents_revoke(struct req *r)
{
	struct agent_cred c;
	char object[32], actor[48];
	json_t *details;
	int64_t id, now = r->app->now();
	int rv, held = 0, closed;

	if (enrolled(r, &id, &c) < 0 || api_begin(r) < 0)
		return;
	if ((rv = agentcred_revoke(r->app->db, id, now)) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	snprintf(actor, sizeof(actor), "agent:%lld revoked", (long long)id);
	if (rv == 1 && (held = agentlost_hold(r->app->db, id, actor, now)) < 0) {
		api_fail(r, held, NULL, NULL);
		return;
	}
	snprintf(object, sizeof(object), "agent:%lld", (long long)id);
	details = json_pack("{s:s, s:I}", "name", c.name, "held_grants", (json_int_t)held);
	rv = api_commit(r, rv == 1 ? "agent.revoke" : NULL, object, details);
	json_decref(details);
	if (rv < 0)
		return;
	closed = agentlink_revoke(r->app->link, (uint64_t)id);
	log_info("agent %lld revoked by %s: %d channel(s) closed, %d grants put on hold",
	    (long long)id, r->actor, closed, held);
	api_agents_get(r);
}

static void
bundle_add(void *arg, const struct agentlink_peer *p)
{
	json_array_append_new(arg,
	    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)p->id, "address", p->address, "spki_pin",
		p->spki_pin));
}

/* Append to a the agents attached to the other managers on the store, as their rows say. */
static int
bundle_add_elsewhere(struct app *app, json_t *a)
{
	struct agent_row rows[BUNDLE_PAGE];
	struct agentlink_peer p;
	int64_t after = 0, now = app->now();
	int n, rv;

	do {
		if ((rv = agents_list(app->db, after, BUNDLE_PAGE, rows, &n)) < 0)
			return rv;
		for (int i = 0; i < n; i++) {
			after = rows[i].id;
			if (agents_attached_elsewhere(&rows[i], app->manager_id, now) &&
			    !agentlink_connected(app->link, (uint64_t)rows[i].id, NULL)) {
				p = (struct agentlink_peer){
				    (uint64_t)rows[i].id, rows[i].listen_address, rows[i].spki_pin};
				bundle_add(a, &p);
			}
			agents_row_clear(&rows[i]);
		}
	} while (n == BUNDLE_PAGE);
	return 0;
}

json_t *
api_agents_bundle(struct app *app)
{
	json_t *a = json_array();
	int rv;

	agentlink_peers(app->link, bundle_add, a);
	/* A bundle without them still works (the client uses the agents it got): the join is
	 * not failed for it. */
	if ((rv = bundle_add_elsewhere(app, a)) < 0)
		log_warn("a join bundle lists only this manager's agents: %s", err_str(rv));
	return a;
}
