/* /v1/pools and /v1/pools/{id}/reservations */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../db/pool.h"
#include "../db/reservation.h"
#include "../lib/err.h"
#include "../lib/isdas.h"
#include "../lib/pssid.h"
#include "alloc.h"
#include "api.h"
#include "app.h"

const struct body_field api_pool_create_body[9] = {
    {"name", BODY_STRING, 1},
    {"isd_as", BODY_STRING, 1},
    {"prefix", BODY_STRING, 1},
    {"hold_seconds", BODY_INT, 0},
    {"strategy", BODY_STRING, 0},
    {"mode", BODY_STRING, 0},
    {"gateway", BODY_STRING_OR_NULL, 0},
    {"routes", BODY_ARRAY, 0},
    {"client_to_client", BODY_BOOL, 0},
};

const struct body_field api_pool_update_body[5] = {
    {"name", BODY_STRING, 0},
    {"hold_seconds", BODY_INT, 0},
    {"gateway", BODY_STRING_OR_NULL, 0},
    {"routes", BODY_ARRAY, 0},
    {"client_to_client", BODY_BOOL, 0},
};

const struct body_field api_reservation_body[2] = {
    {"pssid", BODY_STRING, 1},
    {"address", BODY_STRING, 1},
};

/* The gateway's address as JSON: a string, or null without one. */
static json_t *
gateway_json(const struct pool *p)
{
	char text[ADDR_STRLEN];
	struct addr a;

	if (!p->has_gateway)
		return json_null();
	prefix_addr_at(&p->prefix, p->gateway, &a);
	addr_format(&a, text);
	return json_string(text);
}

static json_t *
routes_json(const struct pool *p)
{
	char text[PREFIX_STRLEN];
	json_t *v = json_array();

	for (int i = 0; i < p->n_routes; i++) {
		prefix_format(&p->routes[i], text);
		json_array_append_new(v, json_string(text));
	}
	return v;
}

static json_t *
pool_network(const struct pool *p)
{
	char ia[ISDAS_STRLEN], prefix[PREFIX_STRLEN];

	isdas_format(p->isd_as, ia);
	prefix_format(&p->prefix, prefix);
	return json_pack("{s:s, s:s, s:i, s:s, s:o, s:s, s:o}", "pool", p->name, "isd_as", ia,
	    "family", p->prefix.net.family, "prefix", prefix, "gateway", gateway_json(p), "mode",
	    pool_mode_str(p->mode), "routes", routes_json(p));
}

json_t *
api_pools_networks(struct db *db, int64_t pool_id)
{
	struct pool *v = NULL, one;
	json_t *a = json_array();
	int n = 0, rv;

	if (pool_id != 0) {
		/* A pool deleted since the token was made offers nothing. */
		if ((rv = pool_get(db, pool_id, &one)) == 0)
			json_array_append_new(a, pool_network(&one));
		else if (rv != ERR_NOT_FOUND)
			goto fail;
		return a;
	}
	if (pool_list_ordered(db, 0, &v, &n) < 0)
		goto fail;
	for (int i = 0; i < n; i++)
		if (v[i].mode == POOL_MODE_IP)
			json_array_append_new(a, pool_network(&v[i]));
	free(v);
	return a;
fail:
	json_decref(a);
	return NULL;
}

/* A pool as the store has it with its address counts: what GET shows of it. */
struct pool_shown {
	struct pool p;
	struct pool_counts c;
};

static json_t *
pool_json(const struct pool_shown *ps)
{
	const struct pool *p = &ps->p;
	const struct pool_counts c = ps->c;
	char ia[ISDAS_STRLEN], prefix[PREFIX_STRLEN];

	isdas_format(p->isd_as, ia);
	prefix_format(&p->prefix, prefix);
	return json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:o, "
			 "s:o, s:o, s:o, s:o}",
	    "id", (json_int_t)p->id, "name", p->name, "isd_as", ia, "prefix", prefix, "family",
	    p->prefix.net.family, "hold_seconds", (json_int_t)p->hold_seconds, "strategy",
	    pool_strategy_str(p->strategy), "mode", pool_mode_str(p->mode), "gateway",
	    gateway_json(p), "routes", routes_json(p), "client_to_client", p->client_to_client,
	    "size", api_count(c.size), "assigned", api_count(c.assigned), "on_hold",
	    api_count(c.on_hold), "reserved", api_count(c.reserved), "free", api_count(c.free),
	    "created_at", api_time(p->created_at), "updated_at", api_time(p->updated_at));
}

static void
reply_pool(struct req *r, unsigned status, int64_t id)
{
	struct pool_shown ps;
	int rv;

	if ((rv = pool_get(r->app->db, id, &ps.p)) < 0 ||
	    (rv = pool_counts(r->app->db, &ps.p, r->app->now(), &ps.c)) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	reply_json(r, status, pool_json(&ps));
}

static int
hold_valid(struct req *r, json_t *v, int64_t *hold)
{
	if (v == NULL)
		return 1;
	*hold = json_integer_value(v);
	if (*hold < 0 || *hold > POOL_HOLD_MAX) {
		reply_problem(r, 400, "hold_seconds", "hold_seconds must be from 0 to %d (30 days)",
		    POOL_HOLD_MAX);
		return 0;
	}
	return 1;
}

static int
name_valid(struct req *r, const char *name)
{
	if (pool_name_valid(name))
		return 1;
	reply_problem(r, 400, "name",
	    "name must be 1 to %d characters without control "
	    "characters",
	    POOL_NAME_MAX);
	return 0;
}

/* The body's gateway for pool p (v: its member, not NULL): null is none, else an address
 * pool_gateway_check accepts. 0, or -1 with the problem in the reply. */
static int
gateway_from_body(struct req *r, const struct pool *p, json_t *v, int *has, uint64_t *idx)
{
	const char *text = json_string_value(v), *why;
	struct addr a;

	*has = 0;
	if (json_is_null(v))
		return 0;
	if (addr_parse(text, &a) < 0) {
		reply_problem(r, 400, "gateway", "invalid gateway \"%.64s\": not an address", text);
		return -1;
	}
	if ((why = pool_gateway_check(p, &a, idx)) != NULL) {
		reply_problem(r, 400, "gateway", "invalid gateway \"%.64s\": %s", text, why);
		return -1;
	}
	*has = 1;
	return 0;
}

/* The body's routes (v: the array) for a pool of family into out (POOL_ROUTES_MAX). 0, or -1
 * with the problem, naming the element at fault, in the reply. */
static int
routes_from_body(struct req *r, int family, json_t *v, struct prefix *out, int *n)
{
	char field[32], whybuf[96];
	const char *text, *why;
	size_t i;

	*n = 0;
	if (json_array_size(v) > POOL_ROUTES_MAX) {
		reply_problem(r, 400, "routes", "routes has %zu prefixes; at most %d are allowed",
		    json_array_size(v), POOL_ROUTES_MAX);
		return -1;
	}
	for (i = 0; i < json_array_size(v); i++) {
		snprintf(field, sizeof(field), "routes[%zu]", i);
		if ((text = json_string_value(json_array_get(v, i))) == NULL) {
			reply_problem(r, 400, field, "%s must be a prefix in a string", field);
			return -1;
		}
		if (prefix_parse(text, &out[i], whybuf, sizeof(whybuf), &why) < 0 ||
		    (why = pool_route_check(&out[i], family)) != NULL) {
			reply_problem(r, 400, field, "invalid route \"%.64s\": %s", text, why);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (out[j].len == out[i].len &&
			    memcmp(out[j].net.b, out[i].net.b, sizeof(out[i].net.b)) == 0) {
				reply_problem(r, 400, field,
				    "invalid route \"%.64s\": a duplicate of routes[%zu]", text, j);
				return -1;
			}
	}
	*n = (int)i;
	return 0;
}

/* Fill p from the create body; 0, or -1 with the problem in the reply. */
static int
pool_from_body(struct req *r, struct pool *p)
{
	const char *name = json_string_value(json_object_get(r->json, "name"));
	const char *ia = json_string_value(json_object_get(r->json, "isd_as"));
	const char *prefix = json_string_value(json_object_get(r->json, "prefix"));
	const char *strategy = json_string_value(json_object_get(r->json, "strategy"));
	const char *mode = json_string_value(json_object_get(r->json, "mode"));
	const char *why;
	char whybuf[96];
	json_t *v;

	memset(p, 0, sizeof(*p));
	if (!name_valid(r, name))
		return -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (isdas_parse(ia, &p->isd_as, &why) < 0) {
		reply_problem(r, 400, "isd_as", "invalid isd_as \"%.40s\": %s", ia, why);
		return -1;
	}
	if (ISDAS_ISD(p->isd_as) == 0 || ISDAS_AS(p->isd_as) == 0) {
		reply_problem(r, 400, "isd_as",
		    "invalid isd_as \"%.40s\": the ISD and the AS must "
		    "not be 0 (wildcards)",
		    ia);
		return -1;
	}
	if (prefix_parse(prefix, &p->prefix, whybuf, sizeof(whybuf), &why) < 0 ||
	    (why = pool_prefix_check(&p->prefix)) != NULL) {
		reply_problem(r, 400, "prefix", "invalid prefix \"%.64s\": %s", prefix, why);
		return -1;
	}
	p->hold_seconds = POOL_HOLD_DEFAULT;
	if (!hold_valid(r, json_object_get(r->json, "hold_seconds"), &p->hold_seconds))
		return -1;
	if (strategy != NULL && pool_strategy_parse(strategy, &p->strategy) < 0) {
		reply_problem(r, 400, "strategy", "strategy must be \"sequential\" or \"random\"");
		return -1;
	}
	if (mode != NULL && pool_mode_parse(mode, &p->mode) < 0) {
		reply_problem(r, 400, "mode", "mode must be \"ip\" or \"scion\"");
		return -1;
	}
	/* The gateway's index is checked against the usable range, known from the prefix. */
	prefix_usable(&p->prefix, &p->first, &p->last);
	if ((v = json_object_get(r->json, "gateway")) != NULL &&
	    gateway_from_body(r, p, v, &p->has_gateway, &p->gateway) < 0)
		return -1;
	if ((v = json_object_get(r->json, "routes")) != NULL &&
	    routes_from_body(r, p->prefix.net.family, v, p->routes, &p->n_routes) < 0)
		return -1;
	v = json_object_get(r->json, "client_to_client");
	p->client_to_client = v == NULL || json_is_true(v);
	return 0;
}

void
api_pools_create(struct req *r)
{
	struct pool_conflict c;
	struct pool p;
	char object[32], why[TEXT_NAME_BYTES(POOL_NAME_MAX) + 64];
	int rv;

	if (pool_from_body(r, &p) < 0 || api_begin(r) < 0)
		return;
	if ((rv = pool_create(r->app->db, &p, r->app->now(), &c)) < 0) {
		if (rv == ERR_CONFLICT && strcmp(c.field, "name") == 0)
			snprintf(why, sizeof(why), "a pool named \"%s\" exists", c.other);
		else if (rv == ERR_CONFLICT)
			snprintf(why, sizeof(why), "prefix overlaps pool \"%s\" in the same ISD-AS",
			    c.other);
		api_fail(
		    r, rv, rv == ERR_CONFLICT ? c.field : NULL, rv == ERR_CONFLICT ? why : NULL);
		return;
	}
	snprintf(object, sizeof(object), "pool:%lld", (long long)p.id);
	if (api_commit(r, "pool.create", object, r->json) < 0)
		return;
	snprintf(r->location, sizeof(r->location), "/v1/pools/%lld", (long long)p.id);
	reply_pool(r, 201, p.id);
}

/* A page of pools, each with its counts. */
static int
fetch_pools(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	struct pool_shown *ps = v;
	struct pool *pools;
	int rv;

	(void)arg;
	if ((pools = calloc((size_t)limit, sizeof(*pools))) == NULL)
		return ERR_NOMEM;
	rv = pool_list(r->app->db, after, limit, pools, n);
	for (int i = 0; rv == 0 && i < *n; i++) {
		ps[i].p = pools[i];
		rv = pool_counts(r->app->db, &ps[i].p, r->app->now(), &ps[i].c);
	}
	free(pools);
	return rv;
}

static json_t *
render_pool(struct req *r, const void *rec)
{
	(void)r;
	return pool_json(rec);
}

static const struct api_list pool_page = {sizeof(struct pool_shown),
    offsetof(struct pool_shown, p.id), fetch_pools, render_pool, NULL, NULL};

void
api_pools_list(struct req *r)
{
	api_list_page(r, &pool_page, NULL);
}

void
api_pools_get(struct req *r)
{
	int64_t id = req_param_id(r, 0, "pool");

	if (id > 0)
		reply_pool(r, 200, id);
}

void
api_pools_update(struct req *r)
{
	const char *name = json_string_value(json_object_get(r->json, "name")), *field;
	int64_t id = req_param_id(r, 0, "pool");
	struct prefix routes[POOL_ROUTES_MAX];
	struct pool_change ch;
	char object[32], why[160];
	struct pool p;
	json_t *v;
	int rv;

	if (id < 0)
		return;
	if (json_object_size(r->json) == 0) {
		reply_problem(r, 400, NULL,
		    "nothing to change: give name, hold_seconds, gateway, routes and/or "
		    "client_to_client");
		return;
	}
	/* The prefix, which gateway and routes are checked against, never changes. */
	if ((rv = pool_get(r->app->db, id, &p)) < 0) {
		api_fail(r, rv, NULL, rv == ERR_NOT_FOUND ? "no such pool" : NULL);
		return;
	}
	memset(&ch, 0, sizeof(ch));
	ch.name = name;
	ch.hold_seconds = -1;
	ch.client_to_client = -1;
	if ((name != NULL && !name_valid(r, name)) ||
	    !hold_valid(r, json_object_get(r->json, "hold_seconds"), &ch.hold_seconds))
		return;
	if ((v = json_object_get(r->json, "gateway")) != NULL) {
		ch.set_gateway = 1;
		if (gateway_from_body(r, &p, v, &ch.has_gateway, &ch.gateway) < 0)
			return;
	}
	if ((v = json_object_get(r->json, "routes")) != NULL) {
		ch.set_routes = 1;
		ch.routes = routes;
		if (routes_from_body(r, p.prefix.net.family, v, routes, &ch.n_routes) < 0)
			return;
	}
	if ((v = json_object_get(r->json, "client_to_client")) != NULL)
		ch.client_to_client = json_is_true(v);
	if (api_begin(r) < 0)
		return;
	rv = alloc_pool_update(
	    r->app->db, id, &ch, r->actor, r->app->now(), &field, why, sizeof(why));
	if (rv < 0) {
		api_fail(r, rv, rv == ERR_CONFLICT ? field : NULL,
		    rv == ERR_CONFLICT        ? why
			: rv == ERR_NOT_FOUND ? "no such pool"
					      : NULL);
		return;
	}
	snprintf(object, sizeof(object), "pool:%lld", (long long)id);
	if (api_commit(r, "pool.update", object, r->json) == 0)
		reply_pool(r, 200, id);
}

void
api_pools_delete(struct req *r)
{
	const char *force = req_query(r, "force");
	int64_t id = req_param_id(r, 0, "pool"), released;
	char object[32], why[160];
	json_t *details;
	int rv;

	if (id < 0)
		return;
	if (force != NULL && strcmp(force, "true") != 0 && strcmp(force, "false") != 0) {
		reply_problem(r, 400, "force", "force must be true or false");
		return;
	}
	if (api_begin(r) < 0)
		return;
	rv = pool_delete(r->app->db, id, force != NULL && strcmp(force, "true") == 0, r->actor,
	    r->app->now(), &released);
	if (rv < 0) {
		snprintf(why, sizeof(why),
		    "the pool has %lld live grants; "
		    "DELETE with ?force=true releases them",
		    (long long)released);
		api_fail(r, rv, NULL,
		    rv == ERR_CONFLICT        ? why
			: rv == ERR_NOT_FOUND ? "no such pool"
					      : NULL);
		return;
	}
	snprintf(object, sizeof(object), "pool:%lld", (long long)id);
	details = json_pack("{s:I}", "released_grants", (json_int_t)released);
	rv = api_commit(r, "pool.delete", object, details);
	json_decref(details);
	if (rv == 0)
		reply_empty(r, 204);
}

void
api_reservations_create(struct req *r)
{
	const char *pssid = json_string_value(json_object_get(r->json, "pssid"));
	const char *address = json_string_value(json_object_get(r->json, "address"));
	int64_t pool_id = req_param_id(r, 0, "pool"), id;
	char object[96], why[160] = "";
	const char *field;
	struct addr a;
	int rv;

	if (pool_id < 0)
		return;
	if (!pssid_valid(pssid)) {
		reply_problem(r, 400, "pssid",
		    "pssid must be 1 to %d characters of A-Z a-z 0-9 "
		    ". _ : -",
		    PSSID_MAX);
		return;
	}
	if (addr_parse(address, &a) < 0) {
		reply_problem(r, 400, "address", "invalid address \"%.64s\"", address);
		return;
	}
	if (api_begin(r) < 0)
		return;
	rv = alloc_reserve(
	    r->app->db, pool_id, pssid, &a, r->actor, r->app->now(), &id, &field, why, sizeof(why));
	if (rv < 0) {
		api_fail(r, rv, rv == ERR_NOT_FOUND ? NULL : field,
		    rv == ERR_NOT_FOUND ? "no such pool" : why);
		return;
	}
	snprintf(object, sizeof(object), "pool:%lld/reservation:%s", (long long)pool_id, address);
	if (api_commit(r, "reservation.create", object, r->json) < 0)
		return;
	snprintf(r->location, sizeof(r->location), "/v1/pools/%lld/reservations/%s",
	    (long long)pool_id, address);
	reply_json(r, 201,
	    json_pack("{s:I, s:I, s:s, s:s, s:o}", "id", (json_int_t)id, "pool_id",
		(json_int_t)pool_id, "pssid", pssid, "address", address, "created_at",
		api_time(r->app->now())));
}

/* A pool's reservations; a pool that is not there is ERR_NOT_FOUND. */
static int
fetch_reservations(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n)
{
	int64_t pool_id = *(const int64_t *)arg;
	struct pool p;
	int rv;

	if ((rv = pool_get(r->app->db, pool_id, &p)) < 0)
		return rv;
	return reservation_list(r->app->db, pool_id, after, limit, v, n);
}

static json_t *
render_reservation(struct req *r, const void *rec)
{
	const struct reservation *v = rec;

	(void)r;
	return json_pack("{s:I, s:I, s:s, s:s, s:o}", "id", (json_int_t)v->id, "pool_id",
	    (json_int_t)v->pool_id, "pssid", v->pssid, "address", v->address, "created_at",
	    api_time(v->created_at));
}

static const struct api_list reservation_page = {sizeof(struct reservation),
    offsetof(struct reservation, id), fetch_reservations, render_reservation, NULL, "no such pool"};

void
api_reservations_list(struct req *r)
{
	int64_t pool_id = req_param_id(r, 0, "pool");

	if (pool_id >= 0)
		api_list_page(r, &reservation_page, &pool_id);
}

void
api_reservations_delete(struct req *r)
{
	int64_t pool_id = req_param_id(r, 0, "pool");
	char object[96];
	struct addr a;
	int rv;

	if (pool_id < 0)
		return;
	if (addr_parse(r->params[1], &a) < 0) {
		reply_problem(r, 404, NULL, "no reservation for \"%.64s\"", r->params[1]);
		return;
	}
	if (api_begin(r) < 0)
		return;
	if ((rv = alloc_unreserve(r->app->db, pool_id, &a)) < 0) {
		api_fail(r, rv, NULL, rv == ERR_NOT_FOUND ? "no such reservation" : NULL);
		return;
	}
	snprintf(
	    object, sizeof(object), "pool:%lld/reservation:%s", (long long)pool_id, r->params[1]);
	if (api_commit(r, "reservation.delete", object, NULL) == 0)
		reply_empty(r, 204);
}
