/* /v1/join-tokens: provisioning of single-use join tokens (scope admin or provision). */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../lib/err.h"
#include "../lib/text.h"
#include "api.h"
#include "app.h"
#include "jointoken.h"
#include "../db/pool.h"

const struct body_field api_join_token_body[5] = {
    {"ttl_seconds", BODY_INT, 0},
    {"labels", BODY_OBJECT, 0},
    {"pool", BODY_INT, 0},
    {"name", BODY_STRING, 0},
    {"count", BODY_INT, 0},
};

static json_t *
token_json(const struct join_token *t)
{
	json_t *labels = json_loads(t->labels, 0, NULL);

	return json_pack("{s:I, s:s, s:o, s:o, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}",
	    "id", (json_int_t)t->id, "name", t->name, "labels",
	    labels != NULL ? labels : json_object(), "pool",
	    t->pool_id ? json_integer(t->pool_id) : json_null(), "state",
	    jointoken_state_str(t->state), "attempts", (json_int_t)t->attempts, "expires_at",
	    api_time(t->expires_at), "in_flight_address",
	    t->in_flight_address[0] ? json_string(t->in_flight_address) : json_null(),
	    "ack_deadline", api_time(t->ack_deadline), "consumed_address",
	    t->consumed_address[0] ? json_string(t->consumed_address) : json_null(), "consumed_at",
	    api_time(t->consumed_at), "created_at", api_time(t->created_at), "updated_at",
	    api_time(t->updated_at), "created_by", t->created_by);
}

/* Read the create body into spec; 0, or -1 with the problem in the reply. */
static int
spec_from_body(struct req *r, struct jointoken_spec *spec, char *labels, int64_t *count)
{
	json_t *ttl = json_object_get(r->json, "ttl_seconds"),
	       *pool = json_object_get(r->json, "pool"), *n = json_object_get(r->json, "count");
	const char *name = json_string_value(json_object_get(r->json, "name")), *why;
	struct pool p;
	int rv;

	spec->name = name != NULL ? name : "";
	spec->ttl = ttl != NULL ? json_integer_value(ttl) : JOINTOKEN_TTL_DEFAULT;
	spec->pool_id = pool != NULL ? json_integer_value(pool) : 0;
	*count = n != NULL ? json_integer_value(n) : 1;
	if (!text_name_valid(spec->name, JOINTOKEN_NAME_MAX, 1)) {
		reply_problem(r, 400, "name",
		    "name must be at most %d characters without control "
		    "characters",
		    JOINTOKEN_NAME_MAX);
		return -1;
	}
	if (spec->ttl < 1 || spec->ttl > JOINTOKEN_TTL_MAX) {
		reply_problem(r, 400, "ttl_seconds", "ttl_seconds must be from 1 to %d (30 days)",
		    JOINTOKEN_TTL_MAX);
		return -1;
	}
	if (*count < 1 || *count > JOINTOKEN_COUNT_MAX) {
		reply_problem(r, 400, "count", "count must be from 1 to %d", JOINTOKEN_COUNT_MAX);
		return -1;
	}
	if ((why = jointoken_labels_check(json_object_get(r->json, "labels"), labels)) != NULL) {
		reply_problem(r, 400, "labels", "invalid labels: %s", why);
		return -1;
	}
	spec->labels = labels;
	if (pool != NULL &&
	    (spec->pool_id < 1 ||
		(rv = pool_get(r->app->db, spec->pool_id, &p)) == ERR_NOT_FOUND)) {
		reply_problem(r, 400, "pool", "no pool with id %lld", (long long)spec->pool_id);
		return -1;
	}
	return 0;
}

void
api_join_tokens_create(struct req *r)
{
	char labels[JOINTOKEN_LABELS_STRLEN], secret[SECRET_STRLEN];
	struct jointoken_spec spec;
	struct join_token t;
	json_t *items, *o;
	int64_t count;
	int rv = 0;

	if (spec_from_body(r, &spec, labels, &count) < 0 || api_begin(r) < 0)
		return;
	/* One transaction for the whole batch: a fleet gets all its tokens or none. */
	items = json_array();
	for (int64_t i = 0; i < count && rv == 0; i++) {
		if ((rv = jointoken_create(
			 r->app->db, &spec, r->actor, r->app->now(), &t, secret)) == 0) {
			o = token_json(&t);
			json_object_set_new(o, "token", json_string(secret));
			json_array_append_new(items, o);
		}
	}
	/* Each token wrote its own join_token.create event. */
	if (rv < 0) {
		json_decref(items);
		api_fail(r, rv, NULL, NULL);
		return;
	}
	if (api_commit(r, NULL, NULL, NULL) < 0) {
		json_decref(items);
		return;
	}
	if (json_object_get(r->json, "count") != NULL) {
		reply_json(r, 201, json_pack("{s:o}", "items", items));
		return;
	}
	snprintf(r->location, sizeof(r->location), "/v1/join-tokens/%lld", (long long)t.id);
	reply_json(r, 201, json_incref(json_array_get(items, 0)));
	json_decref(items);
}

static int
fetch_tokens(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	return jointoken_list(r->app->db, arg, r->app->now(), after, limit, v, n);
}

static json_t *
render_token(struct req *r, const void *rec)
{
	(void)r;
	return token_json(rec);
}

static const struct api_list token_page = {sizeof(struct join_token),
    offsetof(struct join_token, id), fetch_tokens, render_token, NULL, NULL};

void
api_join_tokens_list(struct req *r)
{
	struct jointoken_filter f = {-1, NULL, NULL};
	const char *state = req_query(r, "state");
	char key[JOINTOKEN_LABEL_LEN + 1];
	enum jointoken_state s;

	if (state != NULL) {
		if (jointoken_state_parse(state, &s) < 0) {
			reply_problem(r, 400, "state",
			    "state must be issued, in_flight, consumed, "
			    "expired or aborted");
			return;
		}
		f.state = (int)s;
	}
	/* label=key matches any value, label=key=value that value. */
	if (api_label_query(r, key, sizeof(key), &f.label_key, &f.label_value) < 0)
		return;
	api_list_page(r, &token_page, &f);
}

void
api_join_tokens_get(struct req *r)
{
	int64_t id = req_param_id(r, 0, "join token");
	struct join_token t;
	int rv;

	if (id < 0)
		return;
	if ((rv = jointoken_get(r->app->db, id, r->app->now(), &t)) < 0) {
		api_fail(r, rv, NULL, rv == ERR_NOT_FOUND ? "no such join token" : NULL);
		return;
	}
	reply_json(r, 200, token_json(&t));
}

void
api_join_tokens_abort(struct req *r)
{
	int64_t id = req_param_id(r, 0, "join token");
	struct join_token t;
	char object[48], why[96];
	int rv;

	if (id < 0 || api_begin(r) < 0)
		return;
	if ((rv = jointoken_abort(r->app->db, id, r->actor, r->app->now(), &t)) < 0) {
		if (rv == ERR_CONFLICT)
			snprintf(why, sizeof(why), "the join token is %s already",
			    jointoken_state_str(t.state));
		api_fail(r, rv, NULL,
		    rv == ERR_CONFLICT        ? why
			: rv == ERR_NOT_FOUND ? "no such join token"
					      : NULL);
		return;
	}
	snprintf(object, sizeof(object), "join_token:%lld", (long long)id);
	if (api_commit(r, "join_token.abort", object, NULL) == 0)
		reply_json(r, 200, token_json(&t));
}
