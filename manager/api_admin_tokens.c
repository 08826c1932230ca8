/* /v1/admin-tokens */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>

#include "../db/admintoken.h"
#include "../db/db.h"
#include "../lib/err.h"
#include "api.h"
#include "app.h"

const struct body_field api_admin_token_body[3] = {
    {"name", BODY_STRING, 1},
    {"scope", BODY_STRING, 1},
    {"ttl_seconds", BODY_INT, 0},
};

static json_t *
token_json(const struct admin_token *t, int64_t now)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:b, s:s}", "id", (json_int_t)t->id,
	    "name", t->name, "scope", admintoken_scope_str(t->scope), "created_at",
	    api_time(t->created_at), "expires_at", api_time(t->expires_at), "last_used_at",
	    api_time(t->last_used_at), "expired", t->expires_at != 0 && t->expires_at <= now,
	    "created_by", t->created_by);
}

void
api_admin_tokens_create(struct req *r)
{
	const char *name = json_string_value(json_object_get(r->json, "name"));
	const char *scope_name = json_string_value(json_object_get(r->json, "scope"));
	json_t *ttl_v = json_object_get(r->json, "ttl_seconds"), *o, *details;
	int64_t ttl = ttl_v ? json_integer_value(ttl_v) : 0, now = r->app->now();
	int scope = admintoken_scope_parse(scope_name), rv;
	char secret[SECRET_STRLEN], object[48];
	struct admin_token t;

	if (!admintoken_name_valid(name)) {
		reply_problem(r, 400, "name",
		    "name must be 1 to %d characters without control "
		    "characters",
		    ADMINTOKEN_NAME_MAX);
		return;
	}
	if (scope < 0) {
		reply_problem(
		    r, 400, "scope", "scope must be \"admin\", \"read\" or \"provision\"");
		return;
	}
	if (ttl < 0 || ttl > ADMINTOKEN_TTL_MAX) {
		reply_problem(r, 400, "ttl_seconds",
		    "ttl_seconds must be from 0 (no expiry) to %d "
		    "(366 days)",
		    ADMINTOKEN_TTL_MAX);
		return;
	}
	if (api_begin(r) < 0)
		return;
	if ((rv = admintoken_create(r->app->db, name, scope, ttl, r->actor, now, &t, secret)) < 0) {
		api_fail(r, rv, rv == ERR_CONFLICT ? "name" : NULL,
		    rv == ERR_CONFLICT ? "an admin token with that name exists" : NULL);
		return;
	}
	snprintf(object, sizeof(object), "admin_token:%lld", (long long)t.id);
	details = json_pack(
	    "{s:s, s:s, s:I}", "name", name, "scope", scope_name, "ttl_seconds", (json_int_t)ttl);
	rv = api_commit(r, "admin_token.create", object, details);
	json_decref(details);
	if (rv < 0)
		return;
	o = token_json(&t, now);
	json_object_set_new(o, "token", json_string(secret));
	snprintf(r->location, sizeof(r->location), "/v1/admin-tokens/%lld", (long long)t.id);
	reply_json(r, 201, o);
}

static int
fetch_tokens(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	(void)arg;
	return admintoken_list(r->app->db, after, limit, v, n);
}

static json_t *
render_token(struct req *r, const void *rec)
{
	return token_json(rec, r->app->now());
}

static const struct api_list token_list = {sizeof(struct admin_token),
    offsetof(struct admin_token, id), fetch_tokens, render_token, NULL, NULL};

void
api_admin_tokens_list(struct req *r)
{
	api_list_page(r, &token_list, NULL);
}

void
api_admin_tokens_delete(struct req *r)
{
	int64_t id = req_param_id(r, 0, "admin token");
	struct admin_token t;
	char object[48];
	json_t *details;
	int rv;

	if (id < 0 || api_begin(r) < 0)
		return;
	if ((rv = admintoken_delete(r->app->db, id, r->app->now(), &t)) < 0) {
		api_fail(r, rv, NULL,
		    rv == ERR_CONFLICT        ? "this is the last admin token; create "
						"another admin token first"
			: rv == ERR_NOT_FOUND ? "no such admin token"
					      : NULL);
		return;
	}
	snprintf(object, sizeof(object), "admin_token:%lld", (long long)id);
	details = json_pack("{s:s, s:s}", "name", t.name, "scope", admintoken_scope_str(t.scope));
	rv = api_commit(r, "admin_token.delete", object, details);
	json_decref(details);
	if (rv == 0)
		reply_empty(r, 204);
}

/* The token of the request itself, so that a client (the dashboard) can tell what it may do
 * without trying: any scope may ask. */
void
api_admin_tokens_self(struct req *r)
{
	reply_json(r, 200,
	    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)r->token_id, "name", r->actor, "scope",
		admintoken_scope_str(r->scope)));
}
