/* /v1/sessions: the live tunnel sessions the connected agents report — this manager's from its
 * registry, those of agents attached to other managers on a shared store from the store
 * (db/livesession.h) — and closing one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/agents.h"
#include "../db/db.h"
#include "../db/livesession.h"
#include "../lib/err.h"
#include "../lib/isdas.h"
#include "agentlink.h"
#include "api.h"
#include "app.h"
#include "counters_json.h"
#include "sessions.h"

#define SESSION_KILL_REASON "closed by administrator"

static json_t *
session_json(const struct session *s)
{
	char ia[ISDAS_STRLEN];
	json_t *o;

	isdas_format(s->isd_as, ia);
	o = json_pack("{s:o, s:s, s:o, s:s, s:o, s:I, s:s, s:o, s:o}", "id", api_count(s->id),
	    "pssid", s->pssid, "address", s->address[0] ? json_string(s->address) : json_null(),
	    "isd_as", ia, "agent", api_count(s->agent_id), "grant_id", (json_int_t)s->grant_id,
	    "remote", s->remote, "started_at", api_time(s->started_at), "expires_at",
	    api_time(s->expires_at));
	if (o != NULL && counters_json_set(o, &s->counters) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static struct sessions *
registry(struct req *r)
{
	return r->app->link != NULL ? agentlink_sessions(r->app->link) : NULL;
}

/* What of the store this manager reads: the sessions of agents attached to the other live
 * managers. */
static struct livesession_filter
elsewhere(struct req *r)
{
	return (struct livesession_filter){
	    r->app->manager_id, r->app->now() - AGENTS_FRESH_SECONDS, NULL, 0};
}

/* The id in the path, or 0 when it is not one. */
static uint64_t
path_id(struct req *r)
{
	const char *s = r->params[0];
	char *end;
	unsigned long long id;

	errno = 0;
	id = strtoull(s, &end, 10);
	return *s >= '1' && *s <= '9' && *end == '\0' && errno == 0 ? id : 0;
}

static void
reply_no_session(struct req *r)
{
	reply_problem(r, 404, NULL,
	    "no live session with id \"%.64s\" (ended, or its agent is not connected)",
	    r->params[0]);
}

/* The session named by the path among this manager's, or NULL. */
static struct session *
local_session(struct req *r)
{
	uint64_t id = path_id(r);

	return id != 0 && registry(r) != NULL ? sessions_get(registry(r), id) : NULL;
}

/* Merge the n sessions of a and the m of b (each by id) into out, by id, up to limit; the
 * count. An id in both (an agent that moved to this manager a moment ago) is listed once. */
static int
merge(
    const struct session *a, int n, const struct session *b, int m, int limit, struct session *out)
{
	int i = 0, j = 0, k = 0;

	while (k < limit && (i < n || j < m)) {
		if (j == m || (i < n && a[i].id <= b[j].id)) {
			if (j < m && a[i].id == b[j].id)
				j++;
			out[k++] = a[i++];
		} else {
			out[k++] = b[j++];
		}
	}
	return k;
}

void
api_sessions_list(struct req *r)
{
	struct sessions_filter f = {NULL, 0};
	struct livesession_filter g = elsewhere(r);
	int64_t agent_id;
	struct session *v, *w = NULL, *all = NULL;
	json_t *items;
	int64_t after;
	int limit, n = 0, m = 0, rv = 0;

	if (req_page(r, &limit, &after) < 0)
		return;
	f.pssid = req_query(r, "pssid");
	if (f.pssid != NULL && !pssid_valid(f.pssid)) {
		reply_problem(r, 400, "pssid", "invalid pssid \"%.64s\"", f.pssid);
		return;
	}
	if (req_query_id(r, "agent", &agent_id) < 0)
		return;
	f.agent_id = (uint64_t)agent_id;
	g.pssid = f.pssid;
	g.agent_id = f.agent_id;
	if ((v = calloc((size_t)limit, sizeof(*v))) == NULL) {
		api_fail(r, ERR_NOMEM, NULL, NULL);
		return;
	}
	if (registry(r) != NULL &&
	    (rv = sessions_list(registry(r), &f, (uint64_t)after, limit, v, &n)) < 0)
		goto out;
	/* A page of each, merged by id: the first limit of the union are among them. */
	if (db_shared(r->app->db)) {
		if ((w = calloc((size_t)limit, sizeof(*w))) == NULL ||
		    (all = calloc((size_t)limit, sizeof(*all))) == NULL) {
			rv = ERR_NOMEM;
			goto out;
		}
		if ((rv = livesession_list(r->app->db, &g, (uint64_t)after, limit, w, &m)) < 0)
			goto out;
		n = merge(v, n, w, m, limit, all);
		memcpy(v, all, (size_t)n * sizeof(*v));
	}
	items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, session_json(&v[i]));
	api_reply_page(r, items, n, limit, n ? (int64_t)v[n - 1].id : 0);
out:
	if (rv < 0)
		api_fail(r, rv, NULL, NULL);
	free(v);
	free(w);
	free(all);
}

void
api_sessions_get(struct req *r)
{
	struct livesession_filter g = elsewhere(r);
	uint64_t id = path_id(r);
	struct session *s = local_session(r);
	struct session other;
	int rv;

	if (s != NULL) {
		reply_json(r, 200, session_json(s));
		return;
	}
	if (id == 0 || !db_shared(r->app->db)) {
		reply_no_session(r);
		return;
	}
	if ((rv = livesession_get(r->app->db, &g, id, &other)) == 0)
		reply_json(r, 200, session_json(&other));
	else if (rv == ERR_NOT_FOUND)
		reply_no_session(r);
	else
		api_fail(r, rv, NULL, NULL);
}

/* The session named by the path, held by an agent of another live manager, into *s. 1 when
 * found, 0 when not, or err. */
static int
session_elsewhere(struct req *r, struct session *s)
{
	struct livesession_filter g = elsewhere(r);
	int rv;

	if (path_id(r) == 0 || !db_shared(r->app->db))
		return 0;
	rv = livesession_get(r->app->db, &g, path_id(r), s);
	return rv == 0 ? 1 : rv == ERR_NOT_FOUND ? 0 : rv;
}

void
api_sessions_delete(struct req *r)
{
	struct session *p, s;
	char object[40];
	json_t *details;
	int rv;

	if ((p = local_session(r)) != NULL) {
		s = *p;
		if (!agentlink_connected(r->app->link, s.agent_id, NULL)) {
			r->retry_after = 5;
			reply_problem(r, 503, NULL,
			    "agent %llu, which holds session %llu, is not connected",
			    (unsigned long long)s.agent_id, (unsigned long long)s.id);
			return;
		}
	} else if ((rv = session_elsewhere(r, &s)) <= 0) {
		if (rv < 0)
			api_fail(r, rv, NULL, NULL);
		else
			reply_no_session(r);
		return;
	}
	if (api_begin(r) < 0)
		return;
	/* Sent to the agent once this commits, by whichever manager it is attached to (each
	 * reads the shared outbox: manager/outbox.c); the session ends when it reports it down. */
	if ((rv = agentlink_queue_kill(r->app->db, s.id, s.agent_id, SESSION_KILL_REASON)) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	snprintf(object, sizeof(object), "session:%llu", (unsigned long long)s.id);
	details = json_pack("{s:s, s:I, s:s}", "pssid", s.pssid, "agent", (json_int_t)s.agent_id,
	    "address", s.address);
	rv = api_commit(r, "session.kill", object, details);
	json_decref(details);
	if (rv == 0)
		reply_json(r, 202, session_json(&s));
}
