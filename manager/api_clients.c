/* /v1/clients: enrolled identities, their revocation, and tokens minted for them by an admin. */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../lib/err.h"
#include "access.h"
#include "api.h"
#include "app.h"
#include "client.h"
#include "signkeys.h"

const struct body_field api_client_update_body[2] = {
    {"name", BODY_STRING, 0},
    {"labels", BODY_OBJECT, 0},
};

const struct body_field api_client_token_body[1] = {
    {"ttl_seconds", BODY_INT, 0},
};

static json_t *
client_json(const struct client *c)
{
	json_t *labels = json_loads(c->labels, 0, NULL);

	return json_pack("{s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "pssid", c->pssid, "name",
	    c->name, "labels", labels != NULL ? labels : json_object(), "join_token",
	    c->join_token_id ? json_integer(c->join_token_id) : json_null(), "enrolled",
	    c->enrolled, "created_at", api_time(c->created_at), "updated_at",
	    api_time(c->updated_at), "revoked_at", api_time(c->revoked_at), "revoke_reason",
	    c->revoke_reason[0] ? json_string(c->revoke_reason) : json_null());
}

/* The client named by the path; 0, or -1 with a 404 in the reply. */
static int
path_client(struct req *r, struct client *c)
{
	int rv =
	    pssid_valid(r->params[0]) ? client_get(r->app->db, r->params[0], c) : ERR_NOT_FOUND;

	if (rv < 0) {
		api_fail(r, rv, NULL, rv == ERR_NOT_FOUND ? "no such client" : NULL);
		return -1;
	}
	return 0;
}

static int
fetch_clients(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	return client_list(r->app->db, arg, after, limit, v, n);
}

static json_t *
render_client(struct req *r, const void *rec)
{
	(void)r;
	return client_json(rec);
}

static const struct api_list client_page = {
    sizeof(struct client), offsetof(struct client, id), fetch_clients, render_client, NULL, NULL};

void
api_clients_list(struct req *r)
{
	struct client_filter f = {NULL, NULL, -1};
	const char *revoked = req_query(r, "revoked");
	char key[JOINTOKEN_LABEL_LEN + 1];

	if (revoked != NULL) {
		if (strcmp(revoked, "true") != 0 && strcmp(revoked, "false") != 0) {
			reply_problem(r, 400, "revoked", "revoked must be true or false");
			return;
		}
		f.revoked = strcmp(revoked, "true") == 0;
	}
	if (api_label_query(r, key, sizeof(key), &f.label_key, &f.label_value) < 0)
		return;
	api_list_page(r, &client_page, &f);
}

void
api_clients_get(struct req *r)
{
	struct client c;

	if (path_client(r, &c) == 0)
		reply_json(r, 200, client_json(&c));
}

void
api_clients_update(struct req *r)
{
	const char *name = json_string_value(json_object_get(r->json, "name")), *why;
	json_t *labels_v = json_object_get(r->json, "labels");
	char labels[JOINTOKEN_LABELS_STRLEN], object[96];
	struct client c;
	int rv;

	if (path_client(r, &c) < 0)
		return;
	if (name == NULL && labels_v == NULL) {
		reply_problem(r, 400, NULL, "nothing to change: give name and/or labels");
		return;
	}
	if (name != NULL && !client_name_valid(name)) {
		reply_problem(r, 400, "name",
		    "name must be 1 to %d characters without control "
		    "characters",
		    CLIENT_NAME_MAX);
		return;
	}
	if (labels_v != NULL && (why = jointoken_labels_check(labels_v, labels)) != NULL) {
		reply_problem(r, 400, "labels", "invalid labels: %s", why);
		return;
	}
	if (api_begin(r) < 0)
		return;
	if ((rv = client_update(
		 r->app->db, c.pssid, name, labels_v ? labels : NULL, r->app->now())) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	snprintf(object, sizeof(object), "client:%s", c.pssid);
	if (api_commit(r, "client.update", object, r->json) < 0)
		return;
	if (client_get(r->app->db, c.pssid, &c) == 0)
		reply_json(r, 200, client_json(&c));
	else
		api_fail(r, ERR_DB, NULL, NULL);
}

void
api_clients_revoke(struct req *r)
{
	struct client c;
	int rv;

	if (path_client(r, &c) < 0)
		return;
	/* client_revoke audits and commits on its own (it is also the theft response). */
	if ((rv = client_revoke(
		 r->app->db, c.pssid, "revoked by administrator", r->actor, r->app->now())) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	api_revoked(r, c.pssid);
	reply_empty(r, 204);
}

void
api_clients_mint(struct req *r)
{
	json_t *ttl_v = json_object_get(r->json, "ttl_seconds");
	int64_t ttl = ttl_v ? json_integer_value(ttl_v) : ACCESS_TTL_DEFAULT, exp;
	char access[2048], object[96];
	struct client c;
	json_t *details;
	int rv;

	if (path_client(r, &c) < 0)
		return;
	if (ttl < 1 || ttl > ACCESS_TTL_MAX) {
		reply_problem(
		    r, 400, "ttl_seconds", "ttl_seconds must be from 1 to %d", ACCESS_TTL_MAX);
		return;
	}
	if (c.revoked_at != 0 || !c.enrolled) {
		reply_problem(r, 409, NULL, "the client is %s",
		    c.revoked_at ? "revoked" : "not enrolled yet (no acknowledgement)");
		return;
	}
	if (access_mint(r->app->keys->signer, c.pssid, c.name, r->app->now(), ttl, access,
		sizeof(access), &exp) < 0) {
		reply_problem(r, 500, NULL, "the access token could not be signed");
		return;
	}
	if (api_begin(r) < 0)
		return;
	snprintf(object, sizeof(object), "client:%s", c.pssid);
	details = json_pack("{s:I}", "ttl_seconds", (json_int_t)ttl);
	rv = api_commit(r, "client.token", object, details);
	json_decref(details);
	if (rv == 0)
		reply_json(r, 201,
		    json_pack("{s:s, s:o}", "access_token", access, "access_token_expires_at",
			api_time(exp)));
}
