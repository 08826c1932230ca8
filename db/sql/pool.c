/* The store of pools (db/pool.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "pool_row.h"
#include "../agentdelta.h"
#include "../stmt.h"

/* Routes are stored as their canonical texts separated by spaces: a list read only whole. */
static void
routes_format(const struct prefix *v, int n, char *buf)
{
	char *at = buf;

	*at = '\0';
	for (int i = 0; i < n; i++) {
		if (i > 0)
			*at++ = ' ';
		prefix_format(&v[i], at);
		at += strlen(at);
	}
}

static void
routes_parse(struct pool *p, const char *s)
{
	char one[PREFIX_STRLEN], whybuf[8];
	const char *why;
	size_t len;

	p->n_routes = 0;
	while (*s != '\0' && p->n_routes < POOL_ROUTES_MAX) {
		len = strcspn(s, " ");
		/* Stored routes were validated on the way in. */
		if (len < sizeof(one)) {
			memcpy(one, s, len);
			one[len] = '\0';
			if (prefix_parse(
				one, &p->routes[p->n_routes], whybuf, sizeof(whybuf), &why) == 0)
				p->n_routes++;
		}
		s += len;
		s += strspn(s, " ");
	}
}

#define ROUTES_STRLEN (POOL_ROUTES_MAX * PREFIX_STRLEN)

void
pool_from_row(struct pool *p, struct stmt *st, int c)
{
	const char *why;
	char whybuf[8];

	memset(p, 0, sizeof(*p));
	p->id = db_col_int(st, c + 0);
	snprintf(p->name, sizeof(p->name), "%s", db_col_text(st, c + 1));
	p->isd_as = (uint64_t)db_col_int(st, c + 2);
	/* Stored prefixes were validated on the way in. */
	prefix_parse(db_col_text(st, c + 3), &p->prefix, whybuf, sizeof(whybuf), &why);
	p->first = (uint64_t)db_col_int(st, c + 4);
	p->last = (uint64_t)db_col_int(st, c + 5);
	p->hold_seconds = db_col_int(st, c + 6);
	pool_strategy_parse(db_col_text(st, c + 7), &p->strategy);
	pool_mode_parse(db_col_text(st, c + 8), &p->mode);
	p->next_index = (uint64_t)db_col_int(st, c + 9);
	p->n_assigned = db_col_int(st, c + 10);
	p->n_held = db_col_int(st, c + 11);
	p->n_reserved = db_col_int(st, c + 12);
	p->n_occupied = db_col_int(st, c + 13);
	p->created_at = db_col_int(st, c + 14);
	p->updated_at = db_col_int(st, c + 15);
	p->has_gateway = !db_col_is_null(st, c + 16);
	p->gateway = (uint64_t)db_col_int(st, c + 16);
	routes_parse(p, db_col_text(st, c + 17));
	p->client_to_client = db_col_int(st, c + 18) != 0;
}

/* The pool st (bound to :id here) selects. */
static int
pool_by_id(struct stmt *st, int64_t id, struct pool *p)
{
	int rv;

	db_bind_int(st, ":id", id);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	pool_from_row(p, st, 0);
	db_reset(st);
	return 0;
}

int
pool_get(struct db *db, int64_t id, struct pool *p)
{
	return pool_by_id(db_stmt(db, "SELECT " POOL_COLUMNS " FROM pools WHERE id = :id"), id, p);
}

int
pool_get_locked(struct db *db, int64_t id, struct pool *p)
{
	return pool_by_id(
	    db_stmt(db, "SELECT " POOL_COLUMNS " FROM pools WHERE id = :id FOR UPDATE"), id, p);
}

int
pool_lock_isd_as(struct db *db, uint64_t isd_as)
{
	struct stmt *st = db_stmt(db,
	    "SELECT id FROM pools WHERE :isd_as = 0 OR isd_as = :isd_as ORDER BY id FOR UPDATE");
	int rv;

	db_bind_int(st, ":isd_as", (int64_t)isd_as);
	while ((rv = db_row(st)) == 1)
		;
	return rv;
}

int
pool_list(struct db *db, int64_t after, int limit, struct pool *out, int *n)
{
	struct stmt *st = db_stmt(
	    db, "SELECT " POOL_COLUMNS " FROM pools WHERE id > :after ORDER BY id LIMIT :limit");
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		pool_from_row(&out[(*n)++], st, 0);
	return rv;
}

int
pool_list_ordered(struct db *db, uint64_t isd_as, struct pool **out, int *n)
{
	struct stmt *st;
	struct pool *v = NULL, *nv;
	int rv, cap = 0;

	/* Each statement walks an index in this order (pools_isd_as, pools_family): no sort per
	 * allocation. */
	if (isd_as != 0) {
		st = db_stmt(db,
		    "SELECT " POOL_COLUMNS " FROM pools WHERE isd_as = :isd_as "
		    "ORDER BY family, id");
		db_bind_int(st, ":isd_as", (int64_t)isd_as);
	} else {
		st = db_stmt(db, "SELECT " POOL_COLUMNS " FROM pools ORDER BY family, id");
	}
	*out = NULL;
	*n = 0;
	while ((rv = db_row(st)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(v, (size_t)cap * sizeof(*v))) == NULL) {
				db_reset(st);
				rv = ERR_NOMEM;
				break;
			}
			v = nv;
		}
		pool_from_row(&v[(*n)++], st, 0);
	}
	if (rv < 0) {
		free(v);
		*n = 0;
		return rv;
	}
	*out = v;
	return 0;
}

static int
name_taken(struct db *db, const char *name, int64_t except_id)
{
	struct stmt *st = db_stmt(db, "SELECT 1 FROM pools WHERE name = :name AND id != :id");
	int rv;

	db_bind_text(st, ":name", name);
	db_bind_int(st, ":id", except_id);
	rv = db_row(st);
	db_reset(st);
	return rv;
}

/* The pools of one ISD-AS are few (one per prefix): comparing with each is cheap. */
static int
find_overlap(struct db *db, const struct pool *p, struct pool_conflict *c)
{
	struct stmt *st = db_stmt(
	    db, "SELECT name, prefix FROM pools WHERE isd_as = :isd_as AND family = :family");
	struct prefix other;
	const char *why;
	char whybuf[8];
	int rv;

	db_bind_int(st, ":isd_as", (int64_t)p->isd_as);
	db_bind_int(st, ":family", p->prefix.net.family);
	while ((rv = db_row(st)) == 1) {
		if (prefix_parse(db_col_text(st, 1), &other, whybuf, sizeof(whybuf), &why) == 0 &&
		    prefix_overlap(&p->prefix, &other)) {
			c->field = "prefix";
			snprintf(c->other, sizeof(c->other), "%s", db_col_text(st, 0));
			db_reset(st);
			return 1;
		}
	}
	return rv;
}

int
pool_create(struct db *db, struct pool *p, int64_t now, struct pool_conflict *c)
{
	struct stmt *st;
	char prefix[PREFIX_STRLEN], routes[ROUTES_STRLEN];
	int rv;

	memset(c, 0, sizeof(*c));
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = name_taken(db, p->name, 0)) != 0) {
		if (rv == 1) {
			c->field = "name";
			snprintf(c->other, sizeof(c->other), "%s", p->name);
			rv = ERR_CONFLICT;
		}
		goto fail;
	}
	if ((rv = find_overlap(db, p, c)) != 0) {
		if (rv == 1)
			rv = ERR_CONFLICT;
		goto fail;
	}
	prefix_usable(&p->prefix, &p->first, &p->last);
	p->next_index = p->first;
	p->n_assigned = p->n_held = p->n_reserved = p->n_occupied = 0;
	p->created_at = p->updated_at = now;
	prefix_format(&p->prefix, prefix);
	st = db_stmt(db,
	    "INSERT INTO pools (name, isd_as, family, prefix, first_index, last_index, "
	    "hold_seconds, strategy, mode, next_index, created_at, updated_at, gateway_index, "
	    "routes, client_to_client) VALUES (:name, :isd_as, :family, :prefix, :first, :last, "
	    ":hold, :strategy, :mode, :first, :now, :now, :gateway, :routes, :c2c) RETURNING id");
	db_bind_text(st, ":name", p->name);
	db_bind_int(st, ":isd_as", (int64_t)p->isd_as);
	db_bind_int(st, ":family", p->prefix.net.family);
	db_bind_text(st, ":prefix", prefix);
	db_bind_int(st, ":first", (int64_t)p->first);
	db_bind_int(st, ":last", (int64_t)p->last);
	db_bind_int(st, ":hold", p->hold_seconds);
	db_bind_text(st, ":strategy", pool_strategy_str(p->strategy));
	db_bind_text(st, ":mode", pool_mode_str(p->mode));
	db_bind_int(st, ":now", now);
	if (p->has_gateway)
		db_bind_int(st, ":gateway", (int64_t)p->gateway);
	routes_format(p->routes, p->n_routes, routes);
	db_bind_text(st, ":routes", routes);
	db_bind_int(st, ":c2c", p->client_to_client != 0);
	if ((rv = db_insert_id(st, &p->id)) < 0)
		goto fail;
	if ((rv = agentdelta_add(db, AGENTDELTA_POOL, NULL, (uint64_t)p->id, 0, NULL)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
pool_update(struct db *db, int64_t id, const struct pool_change *ch, int64_t now)
{
	struct stmt *st;
	char routes[ROUTES_STRLEN];
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if (ch->name != NULL && (rv = name_taken(db, ch->name, id)) != 0) {
		if (rv == 1)
			rv = ERR_CONFLICT;
		goto fail;
	}
	st = db_stmt(db,
	    "UPDATE pools SET name = coalesce(:name, name), hold_seconds = "
	    "CASE WHEN :hold >= 0 THEN :hold ELSE hold_seconds END, "
	    "gateway_index = CASE WHEN :set_gateway != 0 THEN :gateway ELSE gateway_index END, "
	    "routes = coalesce(:routes, routes), client_to_client = "
	    "CASE WHEN :c2c >= 0 THEN :c2c ELSE client_to_client END, updated_at = :now "
	    "WHERE id = :id");
	db_bind_text(st, ":name", ch->name);
	db_bind_int(st, ":hold", ch->hold_seconds);
	db_bind_int(st, ":set_gateway", ch->set_gateway != 0);
	if (ch->set_gateway && ch->has_gateway)
		db_bind_int(st, ":gateway", (int64_t)ch->gateway);
	if (ch->set_routes) {
		routes_format(ch->routes, ch->n_routes, routes);
		db_bind_text(st, ":routes", routes);
	}
	db_bind_int(st, ":c2c", ch->client_to_client < 0 ? -1 : ch->client_to_client != 0);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":id", id);
	if ((rv = db_run(st)) < 0)
		goto fail;
	if (db_changes(db) == 0) {
		rv = ERR_NOT_FOUND;
		goto fail;
	}
	if ((rv = agentdelta_add(db, AGENTDELTA_POOL, NULL, (uint64_t)id, 0, NULL)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

/* The agents serving the assigned grants of pool id learn that they are released (the grants
 * are deleted next): each such session must end. Held grants have no session. */
static int
release_assigned(struct db *db, int64_t id)
{
	struct stmt *st = db_stmt(db,
	    "SELECT id, coalesce(agent_id, 0) FROM grants WHERE pool_id = :id AND "
	    "state = 'assigned' ORDER BY id");
	int rv;

	db_bind_int(st, ":id", id);
	while ((rv = db_row(st)) == 1)
		if ((rv = agentdelta_add(db, AGENTDELTA_GRANT_RELEASE, NULL,
			 (uint64_t)db_col_int(st, 0), (uint64_t)db_col_int(st, 1),
			 "address released")) < 0) {
			db_reset(st);
			return rv;
		}
	return rv;
}

int
pool_delete(struct db *db, int64_t id, int force, const char *actor, int64_t now, int64_t *released)
{
	static const char *const cleanup[] = {
	    "DELETE FROM grants WHERE pool_id = :id",
	    "DELETE FROM free_addrs WHERE pool_id = :id",
	    "DELETE FROM reservations WHERE pool_id = :id",
	    "DELETE FROM pools WHERE id = :id",
	};
	struct stmt *st;
	struct pool p;
	int rv;

	*released = 0;
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = pool_get(db, id, &p)) < 0)
		goto fail;
	st = db_stmt(db,
	    "SELECT count(*) FROM grants WHERE pool_id = :id AND "
	    "(state = 'assigned' OR hold_until > :now)");
	db_bind_int(st, ":id", id);
	db_bind_int(st, ":now", now);
	if ((rv = db_row(st)) < 0)
		goto fail;
	*released = db_col_int(st, 0);
	db_reset(st);
	if (*released > 0 && !force) {
		rv = ERR_CONFLICT;
		goto fail;
	}
	st = db_stmt(db,
	    "INSERT INTO grant_history (grant_id, pool_id, address, pssid, action, "
	    "session_id, agent_id, hold_until, actor, at) SELECT id, pool_id, address, pssid, "
	    "CASE WHEN state = 'assigned' OR hold_until > :now THEN 'release' ELSE 'expire' END, "
	    "session_id, agent_id, hold_until, :actor, :now FROM grants WHERE pool_id = :id");
	db_bind_int(st, ":id", id);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":actor", actor);
	if ((rv = db_run(st)) < 0)
		goto fail;
	if ((rv = release_assigned(db, id)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(cleanup) / sizeof(cleanup[0]); i++) {
		st = db_stmt(db, cleanup[i]);
		db_bind_int(st, ":id", id);
		if ((rv = db_run(st)) < 0)
			goto fail;
	}
	if ((rv = agentdelta_add(db, AGENTDELTA_POOL_REMOVED, NULL, (uint64_t)id, 0, NULL)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
pool_count_lapsed(
    struct db *db, int64_t pool_id, int64_t now, int64_t *lapsed, int64_t *lapsed_reserved)
{
	struct stmt *st = db_stmt(db,
	    "SELECT count(*), count(r.id) FROM grants g LEFT JOIN reservations r ON "
	    "r.pool_id = g.pool_id AND r.addr_index = g.addr_index WHERE g.pool_id = :id AND "
	    "g.state = 'on_hold' AND g.hold_until <= :now");
	int rv;

	db_bind_int(st, ":id", pool_id);
	db_bind_int(st, ":now", now);
	if ((rv = db_row(st)) < 0)
		return rv;
	*lapsed = db_col_int(st, 0);
	*lapsed_reserved = db_col_int(st, 1);
	db_reset(st);
	return 0;
}

int
pool_adjust(struct db *db, int64_t id, int64_t d_assigned, int64_t d_held, int64_t d_reserved,
    int64_t d_occupied, const uint64_t *next_index)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE pools SET n_assigned = n_assigned + :a, "
	    "n_held = n_held + :h, n_reserved = n_reserved + :r, n_occupied = n_occupied + :o, "
	    "next_index = coalesce(:next, next_index) WHERE id = :id");

	db_bind_int(st, ":a", d_assigned);
	db_bind_int(st, ":h", d_held);
	db_bind_int(st, ":r", d_reserved);
	db_bind_int(st, ":o", d_occupied);
	if (next_index != NULL)
		db_bind_int(st, ":next", (int64_t)*next_index);
	db_bind_int(st, ":id", id);
	return db_run(st);
}

int
pool_index_occupied(struct db *db, int64_t pool_id, uint64_t idx)
{
	struct stmt *st = db_stmt(db,
	    "SELECT EXISTS (SELECT 1 FROM grants WHERE pool_id = "
	    ":pool AND addr_index = :idx) OR EXISTS (SELECT 1 FROM reservations WHERE pool_id = "
	    ":pool AND addr_index = :idx)");
	int rv;

	db_bind_int(st, ":pool", pool_id);
	db_bind_int(st, ":idx", (int64_t)idx);
	if ((rv = db_row(st)) == 1) {
		rv = db_col_int(st, 0) != 0;
		db_reset(st);
	}
	return rv;
}

int
pool_counts(struct db *db, const struct pool *p, int64_t now, struct pool_counts *c)
{
	int64_t lapsed = 0, lapsed_reserved = 0;
	int rv;

	/* Lapsed holds are few: the sweeper deletes them every few seconds. */
	if ((rv = pool_count_lapsed(db, p->id, now, &lapsed, &lapsed_reserved)) < 0)
		return rv;
	pool_counts_of(p, lapsed, lapsed_reserved, c);
	return 0;
}
