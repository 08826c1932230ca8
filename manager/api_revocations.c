/* /v1/revocations: any pssid, enrolled here or issued by an outside issuer, can be revoked;
 * agents close its tunnels and refuse its tokens. Revoking an enrolled client goes through the
 * client's own revocation (client.h), as DELETE /v1/clients/{pssid} does. */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../db/revocation.h"
#include "../lib/err.h"
#include "../lib/pssid.h"
#include "../lib/text.h"
#include "agentlink.h"
#include "api.h"
#include "revoke.h"
#include "app.h"
#include "client.h"
#include "metrics.h"
#include "sessions.h"

#define REVOCATION_REASON_DEFAULT "revoked by administrator"

const struct body_field api_revocation_body[2] = {
    {"pssid", BODY_STRING, 1},
    {"reason", BODY_STRING, 0},
};

static json_t *
revocation_json(const struct revocation *v)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:o}", "pssid", v->pssid, "reason", v->reason,
	    "revoked_at", api_time(v->created_at), "revoked_by", v->created_by, "expires_at",
	    v->expires_at != 0 ? api_time(v->expires_at) : json_null());
}

static int
check_pssid(struct req *r, const char *pssid)
{
	if (pssid_valid(pssid))
		return 0;
	reply_problem(r, 400, "pssid",
	    "invalid pssid \"%.80s\": 1 to %d characters of A-Z a-z 0-9 . _ : -", pssid, PSSID_MAX);
	return -1;
}

void
api_revocations_create(struct req *r)
{
	const char *pssid = json_string_value(json_object_get(r->json, "pssid"));
	const char *reason = json_string_value(json_object_get(r->json, "reason"));
	struct revocation v;
	struct client c;
	char object[96];
	json_t *details;
	int rv, is_client;

	if (check_pssid(r, pssid) < 0)
		return;
	if (reason != NULL && !text_line_valid(reason, REVOCATION_REASON_MAX, 1)) {
		reply_problem(r, 400, "reason",
		    "reason must be at most %d characters without control characters",
		    REVOCATION_REASON_MAX);
		return;
	}
	if (reason == NULL || reason[0] == '\0')
		reason = REVOCATION_REASON_DEFAULT;
	if (api_begin(r) < 0)
		return;
	if ((rv = revocation_get(r->app->db, pssid, &v)) == 0) {
		/* Revoked already: nothing changes, the first reason stays. */
		if (api_commit(r, NULL, NULL, NULL) == 0)
			reply_json(r, 200, revocation_json(&v));
		return;
	}
	if (rv != ERR_NOT_FOUND) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	if ((rv = client_get(r->app->db, pssid, &c)) < 0 && rv != ERR_NOT_FOUND) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	is_client = rv == 0;
	/* An enrolled client loses its refresh secret too, exactly as with DELETE
	 * /v1/clients/{pssid}; any pssid loses its address. */
	rv = is_client && c.revoked_at == 0
	    ? client_revoke(r->app->db, pssid, reason, r->actor, r->app->now())
	    : revoke_pssid(r->app->db, pssid, reason, r->actor, r->app->now());
	if (rv == 0)
		rv = revocation_get(r->app->db, pssid, &v);
	if (rv < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	snprintf(object, sizeof(object), "revocation:%s", pssid);
	details = json_pack("{s:s, s:b}", "reason", reason, "client", is_client);
	rv = api_commit(r, "revocation.create", object, details);
	json_decref(details);
	if (rv < 0)
		return;
	api_revoked(r, pssid);
	snprintf(r->location, sizeof(r->location), "/v1/revocations/%s", pssid);
	reply_json(r, 201, revocation_json(&v));
}

static int
fetch_revocations(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	return revocation_list(r->app->db, arg, after, limit, v, n);
}

static json_t *
render_revocation(struct req *r, const void *rec)
{
	(void)r;
	return revocation_json(rec);
}

static const struct api_list revocation_page = {sizeof(struct revocation),
    offsetof(struct revocation, id), fetch_revocations, render_revocation, NULL, NULL};

void
api_revocations_list(struct req *r)
{
	const char *pssid = req_query(r, "pssid");

	if (pssid != NULL && check_pssid(r, pssid) < 0)
		return;
	api_list_page(r, &revocation_page, pssid);
}

/* The revocation named by the path; -1 with a 404 in the reply. */
static int
path_revocation(struct req *r, struct revocation *v)
{
	int rv =
	    pssid_valid(r->params[0]) ? revocation_get(r->app->db, r->params[0], v) : ERR_NOT_FOUND;

	if (rv == ERR_NOT_FOUND)
		reply_problem(r, 404, NULL, "pssid \"%.80s\" is not revoked", r->params[0]);
	else if (rv < 0)
		api_fail(r, rv, NULL, NULL);
	return rv < 0 ? -1 : 0;
}

void
api_revocations_get(struct req *r)
{
	struct revocation v;

	if (path_revocation(r, &v) == 0)
		reply_json(r, 200, revocation_json(&v));
}

void
api_revocations_delete(struct req *r)
{
	struct revocation v;
	struct client c;
	char object[96];
	json_t *details;
	int rv;

	if (path_revocation(r, &v) < 0 || api_begin(r) < 0)
		return;
	if ((rv = client_get(r->app->db, v.pssid, &c)) == 0) {
		/* Its refresh secret is gone for good: lifting the revocation would leave a
		 * client that can neither refresh nor be revoked again consistently. */
		api_fail(r, ERR_CONFLICT, "pssid",
		    "the pssid is an enrolled client, revoked with its refresh secret; its "
		    "revocation cannot be lifted (enroll it again with a new join token)");
		return;
	}
	if (rv != ERR_NOT_FOUND || (rv = revocation_remove(r->app->db, v.pssid)) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	snprintf(object, sizeof(object), "revocation:%s", v.pssid);
	details = json_pack("{s:s}", "reason", v.reason);
	rv = api_commit(r, "revocation.delete", object, details);
	json_decref(details);
	if (rv == 0)
		reply_empty(r, 204);
}

void
api_revoked(struct req *r, const char *pssid)
{
	struct sessions_filter f = {pssid, 0};
	struct session s;
	int n = 0;

	if (r->app->link != NULL &&
	    sessions_list(agentlink_sessions(r->app->link), &f, 0, 1, &s, &n) < 0)
		n = 0;
	metrics_revoked(r->app->metrics, pssid, n > 0, r->started_ns);
}
