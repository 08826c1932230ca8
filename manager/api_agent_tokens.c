/* /v1/agent-tokens and /v1/agent-enroll: one-time tokens that enroll an agent on another host,
 * and the enrollment that spends one (api.md "Remote agents"). Like a join token, an agent token
 * is shown once, stored as its SHA-256, expires, and is spent by exactly one enrollment: the
 * spending and the new credential are one transaction (db/agentcred.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../db/agentcred.h"
#include "../lib/b64url.h"
#include "../lib/err.h"
#include "../lib/secret.h"
#include "../lib/text.h"
#include "../lib/tlscert.h"
#include "agentlink.h"
#include "api.h"
#include "app.h"

#define AGENT_TOKEN_PREFIX "sat_"
#define AGENT_TOKEN_TTL_DEFAULT 3600
#define AGENT_TOKEN_TTL_MAX (30 * 86400)

const struct body_field api_agent_token_body[2] = {
    {"name", BODY_STRING, 0},
    {"ttl_seconds", BODY_INT, 0},
};

const struct body_field api_agent_enroll_body[3] = {
    {"token", BODY_STRING, 1},
    {"client_pin", BODY_STRING, 1},
    {"name", BODY_STRING, 0},
};

static json_t *
token_json(const struct agent_token *t, int64_t now)
{
	const char *state = t->used_at != 0 ? "used" : t->expires_at <= now ? "expired" : "issued";

	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id", (json_int_t)t->id,
	    "name", t->name, "state", state, "created_at", api_time(t->created_at), "expires_at",
	    api_time(t->expires_at), "used_at", api_time(t->used_at), "agent_id",
	    t->agent_id != 0 ? json_integer(t->agent_id) : json_null(), "created_by",
	    t->created_by);
}

void
api_agent_tokens_create(struct req *r)
{
	const char *name = json_string_value(json_object_get(r->json, "name"));
	json_t *ttl_v = json_object_get(r->json, "ttl_seconds"), *o, *details;
	int64_t ttl = ttl_v != NULL ? json_integer_value(ttl_v) : AGENT_TOKEN_TTL_DEFAULT;
	int64_t now = r->app->now();
	char secret[SECRET_STRLEN], hash[SECRET_HASH_STRLEN], object[48];
	struct agent_token t;
	int rv;

	if (name != NULL && !text_name_valid(name, AGENTCRED_NAME_MAX, 0)) {
		reply_problem(r, 400, "name",
		    "name must be 1 to %d characters without control characters",
		    AGENTCRED_NAME_MAX);
		return;
	}
	if (ttl < 1 || ttl > AGENT_TOKEN_TTL_MAX) {
		reply_problem(r, 400, "ttl_seconds", "ttl_seconds must be from 1 to %d (30 days)",
		    AGENT_TOKEN_TTL_MAX);
		return;
	}
	if (secret_new(AGENT_TOKEN_PREFIX, secret) < 0) {
		api_fail(r, ERR_DB, NULL, "no randomness for the token");
		return;
	}
	secret_hash(secret, strlen(secret), hash);
	if (api_begin(r) < 0)
		return;
	rv = agentcred_token_insert(
	    r->app->db, hash, name != NULL ? name : "", now + ttl, r->actor, now, &t);
	if (rv < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	snprintf(object, sizeof(object), "agent_token:%lld", (long long)t.id);
	details = json_pack("{s:s, s:I}", "name", t.name, "ttl_seconds", (json_int_t)ttl);
	rv = api_commit(r, "agent_token.create", object, details);
	json_decref(details);
	if (rv < 0) {
		explicit_bzero(secret, sizeof(secret));
		return;
	}
	o = token_json(&t, now);
	json_object_set_new(o, "token", json_string(secret));
	explicit_bzero(secret, sizeof(secret));
	snprintf(r->location, sizeof(r->location), "/v1/agent-tokens/%lld", (long long)t.id);
	reply_json(r, 201, o);
}

static int
fetch_tokens(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	(void)arg;
	return agentcred_token_list(r->app->db, after, limit, v, n);
}

static json_t *
render_token(struct req *r, const void *rec)
{
	return token_json(rec, r->app->now());
}

static const struct api_list token_list = {sizeof(struct agent_token),
    offsetof(struct agent_token, id), fetch_tokens, render_token, NULL, NULL};

void
api_agent_tokens_list(struct req *r)
{
	api_list_page(r, &token_list, NULL);
}

void
api_agent_tokens_delete(struct req *r)
{
	int64_t id = req_param_id(r, 0, "agent token");
	struct agent_token t;
	char object[48];
	json_t *details;
	int rv;

	if (id < 0 || api_begin(r) < 0)
		return;
	if ((rv = agentcred_token_delete(r->app->db, id, &t)) < 0) {
		api_fail(r, rv, NULL, rv == ERR_NOT_FOUND ? "no such agent token" : NULL);
		return;
	}
	snprintf(object, sizeof(object), "agent_token:%lld", (long long)id);
	details = json_pack("{s:s}", "name", t.name);
	rv = api_commit(r, "agent_token.delete", object, details);
	json_decref(details);
	if (rv == 0)
		reply_empty(r, 204);
}

/* POST /v1/agent-enroll: public (the token is the credential), rate-limited per source like
 * /v1/join. The agent sends its client certificate's pin; it gets its id, its channel key and
 * where and whom to dial. */
void
api_agent_enroll(struct req *r)
{
	const char *token = json_string_value(json_object_get(r->json, "token"));
	const char *pin = json_string_value(json_object_get(r->json, "client_pin"));
	const char *name = json_string_value(json_object_get(r->json, "name"));
	const char *address = agentlink_tls_address(r->app->link);
	unsigned char raw[TLSCERT_PIN_LEN], key[32];
	char hash[SECRET_HASH_STRLEN], key64[AGENTCRED_KEY_STRLEN], object[48];
	char caller[INET6_ADDRSTRLEN];
	struct agent_cred c;
	int64_t token_id = 0;
	json_t *details, *managers;
	int rv;

	if (address == NULL) {
		reply_problem(r, 404, NULL,
		    "this manager has no agent listener (start it with --agent-listen)");
		return;
	}
	if (tlscert_pin_parse(pin, raw) < 0) {
		reply_problem(r, 400, "client_pin",
		    "client_pin must be the base64 SHA-256 of the agent's SubjectPublicKeyInfo");
		return;
	}
	if (name != NULL && !text_name_valid(name, AGENTCRED_NAME_MAX, 0)) {
		reply_problem(r, 400, "name",
		    "name must be 1 to %d characters without control characters",
		    AGENTCRED_NAME_MAX);
		return;
	}
	if (secret_random(key, sizeof(key)) < 0) {
		api_fail(r, ERR_DB, NULL, "no randomness for the channel key");
		return;
	}
	b64url_encode(key, sizeof(key), key64);
	explicit_bzero(key, sizeof(key));
	secret_hash(token, strlen(token), hash);
	if (api_begin(r) < 0)
		return;
	rv = agentcred_enroll(
	    r->app->db, hash, name != NULL ? name : "", pin, key64, r->app->now(), &c, &token_id);
	switch (rv) {
	case 0: break;
	case ERR_DENIED: api_fail(r, rv, "token", "the agent token is not valid"); return;
	case ERR_GONE: api_fail(r, rv, "token", "the agent token is used or expired"); return;
	case ERR_CONFLICT:
		api_fail(r, rv, "client_pin", "that certificate is enrolled already");
		return;
	default: api_fail(r, rv, NULL, NULL); return;
	}
	req_peer_text(r, caller);
	snprintf(object, sizeof(object), "agent:%lld", (long long)c.agent_id);
	details = json_pack("{s:s, s:s, s:I, s:s}", "name", c.name, "client_pin", c.client_pin,
	    "agent_token", (json_int_t)token_id, "from", caller);
	snprintf(r->actor, sizeof(r->actor), "agent_token:%lld", (long long)token_id);
	rv = api_commit(r, "agent.enroll", object, details);
	json_decref(details);
	if (rv < 0) {
		explicit_bzero(key64, sizeof(key64));
		return;
	}
	managers =
	    json_pack("[{s:s, s:s}]", "address", address, "pin", agentlink_tls_pin(r->app->link));
	reply_json(r, 201,
	    json_pack("{s:I, s:s, s:s, s:o}", "agent_id", (json_int_t)c.agent_id, "name", c.name,
		"channel_key", c.channel_key, "managers", managers));
	explicit_bzero(key64, sizeof(key64));
	explicit_bzero(&c, sizeof(c));
}
