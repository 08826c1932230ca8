/* /v1/agents: the data-plane agents that ever attached, and whether they are attached now; and
 * the connected agents as a join bundle lists them. */
#include <stdlib.h>

#include "../db/agents.h"
#include "../lib/err.h"
#include "agentlink.h"
#include "api.h"
#include "app.h"
#include "sessions.h"

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
	int connected = agentlink_connected(app->link, (uint64_t)a->id, &heard);
	json_t *stats = stats_json(a->last_stats);
	size_t sessions =
	    connected ? sessions_count(agentlink_sessions(app->link), (uint64_t)a->id) : 0;

	return json_pack("{s:I, s:s, s:b, s:s, s:s, s:i, s:o, s:o, s:o, s:I, s:o}", "id",
	    (json_int_t)a->id, "software_version", a->software_version, "connected", connected,
	    "listen_address", a->listen_address, "spki_pin", a->spki_pin, "channel_version",
	    a->channel_version, "first_seen", api_time(a->first_seen), "last_hello",
	    api_time(a->last_hello), "last_heartbeat", api_time(heard), "sessions",
	    (json_int_t)sessions, "last_stats", stats != NULL ? stats : json_null());
}

void
api_agents_list(struct req *r)
{
	struct agent_row *v;
	json_t *items;
	int64_t after;
	int limit, n, rv;

	if (req_page(r, &limit, &after) < 0)
		return;
	if ((v = calloc((size_t)limit, sizeof(*v))) == NULL) {
		api_fail(r, ERR_NOMEM, NULL, NULL);
		return;
	}
	rv = agents_list(r->app->db, after, limit, v, &n);
	items = json_array();
	for (int i = 0; i < n; i++) {
		if (rv == 0)
			json_array_append_new(items, agent_json(r->app, &v[i]));
		agents_row_clear(&v[i]);
	}
	if (rv < 0)
		api_fail(r, rv, NULL, NULL);
	else
		api_reply_page(r, json_incref(items), n, limit, n ? v[n - 1].id : 0);
	json_decref(items);
	free(v);
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

static void
bundle_add(void *arg, const struct agentlink_peer *p)
{
	json_array_append_new(arg,
	    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)p->id, "address", p->address, "spki_pin",
		p->spki_pin));
}

json_t *
api_agents_bundle(struct agentlink *l)
{
	json_t *a = json_array();

	agentlink_peers(l, bundle_add, a);
	return a;
}
