/* /v1/keys: the token keys as a public JWK set (no authentication: verifiers fetch it like a
 * JWKS endpoint), rotation, import of outside issuers' keys and their removal (admin). */
#include <stdio.h>
#include <string.h>

#include "../lib/err.h"
#include "api.h"
#include "app.h"
#include "jwk.h"
#include "signkeys.h"

const struct body_field api_key_import_body[5] = {
    {"kid", BODY_STRING, 1},
    {"alg", BODY_STRING, 1},
    {"public_key_pem", BODY_STRING, 1},
    {"iss", BODY_STRING, 0},
    {"aud", BODY_STRING, 0},
};

/* The public JWK of k with the informative members; NULL when out of memory. */
static json_t *
key_json(const struct signkeys *sk, const struct signkey *k)
{
	json_t *o = jwk_json(jwt_keyset_find(sk->keyset, k->kid));

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "state", json_string(signkey_state_str(k->state)));
	json_object_set_new(o, "origin", json_string(k->imported ? "imported" : "snaptun"));
	json_object_set_new(o, "created_at", api_time(k->created_at));
	json_object_set_new(o, "verify_until", api_time(k->verify_until));
	if (k->pinned_iss[0] != '\0')
		json_object_set_new(o, "iss", json_string(k->pinned_iss));
	if (k->pinned_aud[0] != '\0')
		json_object_set_new(o, "aud", json_string(k->pinned_aud));
	return o;
}

/* Reply 201 with the key kid as it is now. */
static void
reply_key(struct req *r, const struct signkey *k)
{
	json_t *o = key_json(r->app->keys, k);

	if (o == NULL) {
		api_fail(r, ERR_NOMEM, NULL, NULL);
		return;
	}
	reply_json(r, 201, o);
}

void
api_keys_list(struct req *r)
{
	const struct signkeys *sk = r->app->keys;
	json_t *keys = json_array(), *o;

	for (size_t i = 0; i < sk->n; i++) {
		if ((o = key_json(sk, &sk->keys[i])) == NULL) {
			json_decref(keys);
			api_fail(r, ERR_NOMEM, NULL, NULL);
			return;
		}
		json_array_append_new(keys, o);
	}
	reply_json(r, 200, json_pack("{s:o}", "keys", keys));
}

void
api_keys_rotate(struct req *r)
{
	struct signkey k;
	int64_t wait;
	int rv;

	if ((rv = signkeys_rotate(r->app->keys, r->actor, r->app->now(), &k)) == ERR_LIMIT) {
		wait = signkeys_rotate_wait(r->app->keys, r->app->now());
		r->retry_after = wait > 0 && wait < 86400 * 2 ? (unsigned)wait : 1;
		reply_problem(r, 429, NULL,
		    "%d earlier signing keys still verify tokens, the most there may be: the next "
		    "rotation is possible in %lld s, or after DELETE /v1/keys/{kid} of one of them",
		    SIGNKEYS_VERIFY_MAX, (long long)(wait > 0 ? wait : 1));
		return;
	}
	if (rv < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	reply_key(r, &k);
}

/* The string member name of the body, or NULL with a 400 in the reply when it holds a NUL. */
static const char *
body_string(struct req *r, const char *name, size_t *len)
{
	json_t *v = json_object_get(r->json, name);
	const char *s = json_string_value(v);

	*len = json_string_length(v);
	if (s == NULL || strlen(s) != *len) {
		reply_problem(r, 400, name, "%s must not contain NUL characters", name);
		return NULL;
	}
	return s;
}

void
api_keys_import(struct req *r)
{
	const char *kid, *alg, *pem, *iss = NULL, *aud = NULL;
	struct keyimport_error e;
	struct signkey k;
	size_t len, ilen;
	int rv;

	if ((kid = body_string(r, "kid", &len)) == NULL ||
	    (alg = body_string(r, "alg", &len)) == NULL ||
	    (json_object_get(r->json, "iss") != NULL &&
		(iss = body_string(r, "iss", &ilen)) == NULL) ||
	    (json_object_get(r->json, "aud") != NULL &&
		(aud = body_string(r, "aud", &ilen)) == NULL) ||
	    (pem = body_string(r, "public_key_pem", &len)) == NULL)
		return;
	if ((rv = signkeys_import_pinned(r->app->keys, kid, alg, pem, len, iss, aud, r->actor,
		 r->app->now(), &k, &e)) < 0) {
		api_fail(r, rv, e.field, e.detail);
		return;
	}
	reply_key(r, &k);
}

void
api_keys_delete(struct req *r)
{
	const char *kid = r->params[0];
	char why[200] = "";
	int rv;

	if ((rv = signkeys_delete(r->app->keys, kid, r->actor, r->app->now(), NULL)) < 0) {
		if (rv == ERR_NOT_FOUND)
			snprintf(
			    why, sizeof(why), "no key \"%.128s\" (or it is retired already)", kid);
		else if (rv == ERR_CONFLICT)
			snprintf(why, sizeof(why),
			    "\"%s\" is the active signing key; rotate first (POST /v1/keys/rotate)",
			    kid);
		api_fail(r, rv, NULL, why);
		return;
	}
	reply_empty(r, 204);
}
