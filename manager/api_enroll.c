/* The public enrollment endpoints: POST /v1/join, POST /v1/join/ack, POST /v1/token. They are
 * rate-limited per source address and reveal nothing about tokens they do not accept. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "../db/db.h"
#include "../lib/err.h"
#include "access.h"
#include "api.h"
#include "app.h"
#include "client.h"
#include "enroll.h"
#include "jointoken.h"
#include "metrics.h"
#include "signkeys.h"

const struct body_field api_join_body[2] = {
    {"token", BODY_STRING, 1},
    {"name", BODY_STRING, 0},
};

const struct body_field api_join_ack_body[1] = {
    {"ack_token", BODY_STRING, 1},
};

const struct body_field api_token_body[2] = {
    {"refresh_token", BODY_STRING, 1},
    {"request_id", BODY_STRING, 0},
};

/* Sign an access token into out; 0, or -1 with a 500 in the reply. */
static int
mint(struct req *r, const char *pssid, const char *name, int64_t ttl, char *out, size_t cap,
    int64_t *exp)
{
	if (access_mint(r->app->keys->signer, pssid, name, r->app->now(), ttl, out, cap, exp) < 0) {
		reply_problem(r, 500, NULL, "the access token could not be signed");
		return -1;
	}
	return 0;
}

/* The lifetime of the tokens enrollment and refresh issue: the manager's setting. */
static int64_t
enroll_ttl(const struct req *r)
{
	return r->app->access_ttl > 0 ? r->app->access_ttl : ACCESS_TTL_DEFAULT;
}

void
api_join(struct req *r)
{
	const char *token = json_string_value(json_object_get(r->json, "token"));
	const char *name = json_string_value(json_object_get(r->json, "name"));
	char caller[INET6_ADDRSTRLEN], access[2048];
	enum jointoken_state state = JT_ISSUED;
	struct enroll_bundle b;
	json_t *networks;
	int64_t exp;
	int rv;

	if (name != NULL && !client_name_valid(name)) {
		reply_problem(r, 400, "name",
		    "name must be 1 to %d characters without control "
		    "characters",
		    CLIENT_NAME_MAX);
		return;
	}
	req_peer_text(r, caller);
	rv = enroll_join(r->app->db, token, name != NULL ? name : "", caller, r->app->now(),
	    r->app->ack_ttl, &b, &state);
	if (rv < 0)
		metrics_enroll_failed(r->app->metrics,
		    rv == ERR_DENIED         ? METRICS_ENROLL_INVALID_TOKEN
			: rv == ERR_GONE     ? METRICS_ENROLL_TOKEN_GONE
			: rv == ERR_CONFLICT ? METRICS_ENROLL_CONFLICT
			: rv == ERR_LIMIT    ? METRICS_ENROLL_BUSY
					     : METRICS_ENROLL_ERROR);
	switch (rv) {
	case 0: break;
	case ERR_DENIED: reply_problem(r, 401, "token", "the join token is not valid"); return;
	case ERR_GONE:
		if (state == JT_ABORTED && b.attempts >= JOINTOKEN_ATTEMPTS_MAX)
			reply_problem(r, 410, "token",
			    "the join token is aborted: %lld joins were not acknowledged",
			    (long long)b.attempts);
		else
			reply_problem(
			    r, 410, "token", "the join token is %s", jointoken_state_str(state));
		return;
	case ERR_CONFLICT:
		reply_problem(r, 409, "token", "the join token is being used from another address");
		return;
	case ERR_LIMIT:
		r->retry_after = 5;
		reply_problem(r, 503, NULL, "too many enrollments await acknowledgement; retry");
		return;
	default: api_fail(r, rv, NULL, NULL); return;
	}
	/* Joining again from the same address mends a failure here (fresh secrets). */
	if ((networks = api_pools_networks(r->app->db, b.pool_id)) == NULL) {
		api_fail(r, ERR_DB, NULL, NULL);
		return;
	}
	if (mint(r, b.pssid, b.name, enroll_ttl(r), access, sizeof(access), &exp) < 0) {
		json_decref(networks);
		return;
	}
	/* The agents connected now to any manager, with their endpoints and pins. */
	reply_json(r, 201,
	    json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:o}", "pssid", b.pssid, "name",
		b.name, "access_token", access, "access_token_expires_at", api_time(exp),
		"refresh_token", b.refresh, "agents", api_agents_bundle(r->app), "networks",
		networks, "ack_token", b.ack, "ack_deadline", api_time(b.ack_deadline)));
}

void
api_join_ack(struct req *r)
{
	const char *ack = json_string_value(json_object_get(r->json, "ack_token"));
	char pssid[PSSID_MAX + 1];
	int rv;

	if ((rv = enroll_ack(r->app->db, ack, r->app->now(), pssid)) == 0) {
		metrics_enrolled(r->app->metrics);
		reply_empty(r, 204);
		return;
	}
	metrics_enroll_failed(
	    r->app->metrics, rv == ERR_GONE ? METRICS_ENROLL_ACK_GONE : METRICS_ENROLL_ERROR);
	if (rv == ERR_GONE)
		reply_problem(r, 410, "ack_token", "the ack token is unknown, used or late");
	else
		api_fail(r, rv, NULL, NULL);
}

void
api_token(struct req *r)
{
	const char *refresh = json_string_value(json_object_get(r->json, "refresh_token"));
	const char *request_id = json_string_value(json_object_get(r->json, "request_id"));
	char fresh[SECRET_STRLEN], access[2048];
	json_t *networks = NULL;
	struct client c;
	int64_t exp;
	int rv, retried;

	if (request_id != NULL && !client_request_id_valid(request_id)) {
		reply_problem(r, 400, "request_id",
		    "request_id must be %d to %d characters of A-Z a-z 0-9 _ -",
		    CLIENT_REQUEST_ID_MIN, CLIENT_REQUEST_ID_MAX);
		return;
	}
	/* One transaction for the exchange and the networks read: a failure of the read must not
	 * leave a rotated refresh token nobody was told. */
	if (api_begin(r) < 0)
		return;
	rv = client_refresh(r->app->db, refresh, request_id, r->app->now(), &c, fresh, &retried);
	if (rv == ERR_DENIED || rv == ERR_GONE) {
		/* A reused secret revoked its client (committed here): the answer is the same
		 * 401, on purpose. */
		if (api_commit(r, NULL, NULL, NULL) == 0)
			reply_problem(r, 401, "refresh_token", "the refresh token is not valid");
		return;
	}
	if (rv == 0 && (networks = api_pools_networks(r->app->db, c.pool_id)) == NULL)
		rv = ERR_DB;
	if (rv < 0 || api_commit(r, NULL, NULL, NULL) < 0) {
		if (rv < 0)
			api_fail(r, rv, NULL, NULL);
		json_decref(networks);
		return;
	}
	if (mint(r, c.pssid, c.name, enroll_ttl(r), access, sizeof(access), &exp) < 0) {
		json_decref(networks);
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:s, s:o, s:s, s:o}", "access_token", access, "access_token_expires_at",
		api_time(exp), "refresh_token", fresh, "networks", networks));
}
