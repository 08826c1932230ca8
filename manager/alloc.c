#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../db/freeaddr.h"
#include "../db/grant.h"
#include "../db/pool.h"
#include "../db/reservation.h"
#include "../lib/addr.h"
#include "../lib/err.h"
#include "../lib/isdas.h"
#include "../lib/pssid.h"
#include "../lib/secret.h"
#include "../proto/chan.h"
#include "alloc.h"

/* Random probes before a random pool falls back to walking from a random start, and how far
 * that walk goes before it gives up on a pool that is all but full. */
#define RANDOM_PROBES 64
#define RANDOM_WALK_MAX (1u << 22)

/* The number of usable indexes (pool_capacity leaves the gateway's out). */
static uint64_t
index_span(const struct pool *p)
{
	return p->last - p->first + 1;
}

static int
is_gateway(const struct pool *p, uint64_t idx)
{
	return p->has_gateway && idx == p->gateway;
}

/* Whether index idx of p may not be picked: the gateway's, granted or reserved. 1, 0 or err.
 * The gateway's index is never in free_addrs (alloc_pool_update takes it out), nor under a
 * grant or a reservation (refused while it is the gateway's). */
static int
index_taken(struct db *db, const struct pool *p, uint64_t idx)
{
	return is_gateway(p, idx) ? 1 : pool_index_occupied(db, p->id, idx);
}

/* The fencing rule (api.md "Grants"): a request of a session older than the grant's
 * is stale, as the grant went to a newer connection of its client meanwhile. A session id below
 * 0 is an administrative request and is never stale. */
static int
session_stale(const struct grant *g, int64_t session_id)
{
	return session_id >= 0 && session_id < g->session_id;
}

/* Put an index that just became free on the sequential pool's reuse list. */
static int
give_back(struct db *db, const struct pool *p, uint64_t idx)
{
	if (p->strategy != POOL_SEQUENTIAL || idx >= p->next_index)
		return 0;
	return freeaddr_add(db, p->id, idx);
}

/* Delete a grant row, record why, and give its index back unless it is reused at once. */
static int
row_delete(struct db *db, const struct pool *p, const struct grant *g, const char *action,
    const char *actor, int64_t now, int reuse)
{
	int rv, reserved;

	if ((rv = grant_delete(db, g->id)) < 0 ||
	    (rv = grant_history_add(db, g, action, actor, now)) < 0)
		return rv;
	if ((reserved = reservation_at(db, p->id, g->index, NULL)) < 0)
		return reserved;
	if (!reserved && !reuse && (rv = give_back(db, p, g->index)) < 0)
		return rv;
	return pool_adjust(db, p->id, g->state == GRANT_ASSIGNED ? -1 : 0,
	    g->state == GRANT_ON_HOLD ? -1 : 0, 0, reserved ? 0 : -1, NULL);
}

/* What an acquisition will do, decided by reads alone: every refusal happens before the first
 * write (db.h), and what the reads proved spares statements later. */
struct plan {
	struct pool pool;
	uint64_t idx;
	uint64_t cursor; /* the sequential cursor after this pick */
	int may_be_listed; /* idx may be in free_addrs */
	int reserved; /* idx is reserved (for this pssid) */
	int has_lapsed; /* another pssid's lapsed hold sits on idx */
	struct grant lapsed;
};

/* Check what sits on plan->idx: nothing, this pssid's reservation, or a lapsed hold of another
 * pssid (to expire). A live grant of another pssid refuses with ERR_ADDR_TAKEN. */
static int
plan_check_index(struct db *db, struct plan *pl, int64_t now, char *why, size_t whylen)
{
	int rv = grant_at(db, pl->pool.id, pl->idx, &pl->lapsed);

	if (rv == 0) {
		if (pl->lapsed.state == GRANT_ASSIGNED || pl->lapsed.hold_until > now) {
			snprintf(why, whylen, "address %s is held by another client",
			    pl->lapsed.address);
			return ERR_ADDR_TAKEN;
		}
		pl->has_lapsed = 1;
	} else if (rv != ERR_NOT_FOUND) {
		return rv;
	}
	return 0;
}

/* Insert the planned grant, with the pool's counters and cursor in one update. */
static int
execute(
    struct db *db, const struct plan *pl, const struct alloc_req *r, int64_t now, struct grant *g)
{
	struct addr a;
	int rv;

	if (pl->has_lapsed &&
	    (rv = row_delete(db, &pl->pool, &pl->lapsed, "expire", r->actor, now, 1)) < 0)
		return rv;
	if (pl->may_be_listed && (rv = freeaddr_remove(db, pl->pool.id, pl->idx)) < 0)
		return rv;
	memset(g, 0, sizeof(*g));
	g->pool_id = pl->pool.id;
	g->index = pl->idx;
	prefix_addr_at(&pl->pool.prefix, pl->idx, &a);
	addr_format(&a, g->address);
	snprintf(g->pssid, sizeof(g->pssid), "%s", r->pssid);
	g->state = GRANT_ASSIGNED;
	g->agent_id = r->agent_id;
	g->session_id = r->session_id;
	g->assigned_at = now;
	if ((rv = grant_insert(db, g)) < 0 ||
	    (rv = grant_history_add(db, g, "assign", r->actor, now)) < 0)
		return rv;
	return pool_adjust(db, pl->pool.id, 1, 0, 0, pl->reserved ? 0 : 1,
	    pl->cursor != pl->pool.next_index ? &pl->cursor : NULL);
}

/* The same pssid comes back: its grant is assigned to the new session. */
static int
reassign(struct db *db, struct grant *g, const struct alloc_req *r, int64_t now)
{
	int was_held = g->state == GRANT_ON_HOLD, rv;

	if ((rv = grant_assign(db, g, r->agent_id, r->session_id, now)) < 0)
		return rv;
	if ((rv = grant_history_add(db, g, was_held ? "reclaim" : "reassign", r->actor, now)) < 0)
		return rv;
	return was_held ? pool_adjust(db, g->pool_id, 1, -1, 0, 0, NULL) : 0;
}

static unsigned
mode_bit(enum pool_mode m)
{
	return m == POOL_MODE_SCION ? CHAN_MODE_SCION : CHAN_MODE_IP;
}

static int
pool_matches(const struct pool *p, const struct alloc_req *r)
{
	return (r->isd_as == 0 || p->isd_as == r->isd_as) &&
	    (r->pool_id == 0 || p->id == r->pool_id) &&
	    (r->family == 0 || p->prefix.net.family == r->family) &&
	    (r->modes == 0 || (r->modes & mode_bit(p->mode)) != 0);
}

static int
want_any_addr(const struct alloc_req *r)
{
	return r->addr == NULL || addr_is_zero(r->addr);
}

/* Pools that match the request, IPv4 first, then by id (the store's order). The caller frees
 * *out. */
static int
matching_pools(struct db *db, const struct alloc_req *r, struct pool **out, int *n)
{
	struct pool *v;
	int rv, all;

	if ((rv = pool_list_ordered(db, r->isd_as, &v, &all)) < 0)
		return rv;
	*n = 0;
	for (int i = 0; i < all; i++) {
		if (!pool_matches(&v[i], r))
			continue;
		if (*n != i)
			v[*n] = v[i];
		(*n)++;
	}
	*out = v;
	return 0;
}

/* find_reservation's question (the request) and where its answer goes. */
struct fit {
	const struct alloc_req *r;
	struct pool *p;
	uint64_t *idx;
};

static int
fits_request(void *arg, const struct pool *p, uint64_t idx)
{
	struct fit *f = arg;
	uint64_t want;

	if (!pool_matches(p, f->r) ||
	    (!want_any_addr(f->r) &&
		(prefix_index_of(&p->prefix, f->r->addr, &want) < 0 || want != idx)))
		return 0;
	*f->p = *p;
	*f->idx = idx;
	return 1;
}

/* The pssid's reservation that fits the request, if any: 1 with *p and *idx set, 0, or err.
 * A pssid has at most one reservation per pool, so the candidates are few. */
static int
find_reservation(struct db *db, const struct alloc_req *r, struct pool *p, uint64_t *idx)
{
	struct fit f = {r, p, idx};

	return reservation_list_pssid(db, r->pssid, fits_request, &f);
}

/* The lowest released address below a sequential pool's cursor. 1, 0 or err. */
static int
pick_released(struct db *db, struct plan *pl)
{
	int rv = freeaddr_lowest(db, pl->pool.id, &pl->idx);

	if (rv == 0) {
		pl->may_be_listed = 1;
		return 1;
	}
	return rv == ERR_NOT_FOUND ? 0 : rv;
}

/* The cursor's index, skipping those taken out of order (requested or reserved). 1, 0 or
 * err. The cursor only moves forward; what it leaves behind comes back through free_addrs. */
static int
pick_cursor(struct db *db, struct plan *pl)
{
	int rv;

	while (pl->cursor <= pl->pool.last) {
		uint64_t i = pl->cursor;

		if ((rv = index_taken(db, &pl->pool, i)) < 0)
			return rv;
		/* The top index of a /64 stays the cursor: 2^64 is not representable, and a
		 * pool that far along is exhausted by any measure. */
		if (i != UINT64_MAX)
			pl->cursor++;
		if (rv == 0) {
			pl->idx = i;
			return 1;
		}
		if (i == UINT64_MAX)
			break;
	}
	return 0;
}

static uint64_t
random_index(const struct pool *p)
{
	uint64_t r = 0;

	secret_random(&r, sizeof(r));
	return p->first + r % index_span(p);
}

static int
pick_random(struct db *db, struct plan *pl)
{
	const struct pool *p = &pl->pool;
	uint64_t i = random_index(p);
	int rv;

	for (int k = 0; k < RANDOM_PROBES; k++, i = random_index(p))
		if ((rv = index_taken(db, p, i)) <= 0)
			goto found;
	/* Dense pool: walk on from the last probe; the counters said there is a hole. */
	for (uint64_t n = 0; n < index_span(p) && n < RANDOM_WALK_MAX; n++) {
		i = i == p->last ? p->first : i + 1;
		if ((rv = index_taken(db, p, i)) <= 0)
			goto found;
	}
	return 0;
found:
	pl->idx = i;
	return rv == 0 ? 1 : rv;
}

/* The hold that lapsed first and is not on a reserved address. 1, 0 or err. */
static int
pick_lapsed(struct db *db, struct plan *pl, int64_t now)
{
	int rv = grant_first_lapsed(db, pl->pool.id, now, &pl->lapsed);

	if (rv == 0) {
		pl->idx = pl->lapsed.index;
		pl->has_lapsed = 1;
		return 1;
	}
	return rv == ERR_NOT_FOUND ? 0 : rv;
}

/* A free index of the plan's pool: 1, 0 when the pool is exhausted, or err. */
static int
pick(struct db *db, struct plan *pl, int64_t now)
{
	int rv = 0;

	pl->cursor = pl->pool.next_index;
	if ((uint64_t)pl->pool.n_occupied < pool_capacity(&pl->pool)) {
		if (pl->pool.strategy == POOL_RANDOM)
			rv = pick_random(db, pl);
		else if ((rv = pick_released(db, pl)) == 0)
			rv = pick_cursor(db, pl);
		if (rv != 0)
			return rv;
	}
	return pick_lapsed(db, pl, now);
}

static void
describe_exhausted(const struct pool *v, int n, char *why, size_t whylen)
{
	char prefix[PREFIX_STRLEN];
	size_t off;

	off = (size_t)snprintf(why, whylen, "no address available: ");
	for (int i = 0; i < n && off < whylen; i++) {
		prefix_format(&v[i].prefix, prefix);
		off += (size_t)snprintf(why + off, whylen - off, "%spool \"%s\" (%s) is exhausted",
		    i ? ", " : "", v[i].name, prefix);
	}
}

static void
describe_no_pool(const struct alloc_req *r, int scion_left_out, char *why, size_t whylen)
{
	char ia[ISDAS_STRLEN] = "any ISD-AS";
	const char *family = r->family == 4 ? "IPv4" : r->family == 6 ? "IPv6" : "IPv4 or IPv6";

	const char *modes = r->modes == CHAN_MODE_IP ? " in ip mode, the one the agent forwards"
	    : r->modes == CHAN_MODE_SCION            ? " in scion mode, the one the agent forwards"
						     : "";

	if (r->isd_as != 0)
		isdas_format(r->isd_as, ia);
	if (r->pool_id != 0)
		snprintf(why, whylen,
		    "no address available: the client's pool %lld is no %s pool%s for %s",
		    (long long)r->pool_id, family, modes, ia);
	else
		snprintf(why, whylen, "no address available: no %s pool%s for %s%s", family, modes,
		    ia,
		    scion_left_out ? " (a pool in scion mode serves a client bound to it or asking "
				     "for its ISD-AS)"
				   : "");
}

/* A request that names no pool, ISD-AS or address may come from an endhost that does not know
 * SCION (the agent asks for IPv4, then IPv6): while an ip pool of either family would serve it,
 * the scion pools of v[0..*n) are left out (*dropped: how many). 0 or err. */
static int
prefer_ip(struct db *db, const struct alloc_req *r, struct pool *v, int *n, int *dropped)
{
	struct alloc_req any = *r;
	struct pool *all = NULL;
	int k = 0, nall, rv, scion = 0, ip = 0;

	*dropped = 0;
	if (r->pool_id != 0 || r->isd_as != 0)
		return 0;
	for (int i = 0; i < *n; i++)
		scion += v[i].mode == POOL_MODE_SCION;
	if (scion == 0)
		return 0;
	any.family = 0;
	if ((rv = matching_pools(db, &any, &all, &nall)) < 0)
		return rv;
	for (int i = 0; i < nall; i++)
		ip += all[i].mode == POOL_MODE_IP;
	free(all);
	if (ip == 0)
		return 0;
	for (int i = 0; i < *n; i++)
		if (v[i].mode == POOL_MODE_IP)
			v[k++] = v[i];
	*dropped = *n - k;
	*n = k;
	return 0;
}

/* Plan any free address of the first matching pool that has one. */
static int
plan_any(struct db *db, const struct alloc_req *r, int64_t now, struct plan *pl, char *why,
    size_t whylen)
{
	struct pool *v = NULL;
	int n, rv, dropped;

	if ((rv = matching_pools(db, r, &v, &n)) < 0)
		return rv;
	if ((rv = prefer_ip(db, r, v, &n, &dropped)) < 0)
		goto out;
	rv = ERR_NO_POOL;
	for (int i = 0; i < n; i++) {
		memset(pl, 0, sizeof(*pl));
		pl->pool = v[i];
		if ((rv = pick(db, pl, now)) != 0)
			goto out;
		rv = ERR_POOL_EXHAUSTED;
	}
	if (rv == ERR_NO_POOL)
		describe_no_pool(r, dropped, why, whylen);
	else
		describe_exhausted(v, n, why, whylen);
out:
	free(v);
	return rv == 1 ? 0 : rv;
}

/* The requested address is in no pool the agent forwards: if it is in a pool of another mode,
 * why says so. ERR_ADDR_NOT_IN_POOL or err. */
static int
addr_in_other_mode(
    struct db *db, const struct alloc_req *r, const char *text, char *why, size_t whylen)
{
	struct alloc_req any = *r;
	struct pool *v = NULL;
	uint64_t idx;
	int n, rv;

	any.modes = 0;
	if ((rv = matching_pools(db, &any, &v, &n)) < 0)
		return rv;
	for (int i = 0; i < n; i++)
		if (prefix_index_of(&v[i].prefix, r->addr, &idx) == 0) {
			snprintf(why, whylen,
			    "address %s is in pool \"%s\", in %s mode, which this agent does not "
			    "forward",
			    text, v[i].name, pool_mode_str(v[i].mode));
			break;
		}
	free(v);
	return ERR_ADDR_NOT_IN_POOL;
}

/* Plan the requested address: in a pool, assignable, not reserved for or held by another. */
static int
plan_addr(struct db *db, const struct alloc_req *r, int64_t now, struct plan *pl, char *why,
    size_t whylen)
{
	char owner[PSSID_MAX + 1], text[ADDR_STRLEN];
	struct pool *v = NULL;
	int n, rv;

	addr_format(r->addr, text);
	if ((rv = matching_pools(db, r, &v, &n)) < 0)
		return rv;
	rv = ERR_ADDR_NOT_IN_POOL;
	snprintf(why, whylen, "address %s is in no pool", text);
	for (int i = 0; i < n; i++) {
		memset(pl, 0, sizeof(*pl));
		pl->pool = v[i];
		pl->cursor = v[i].next_index;
		if (prefix_index_of(&v[i].prefix, r->addr, &pl->idx) < 0)
			continue;
		if (pl->idx < v[i].first || pl->idx > v[i].last) {
			snprintf(why, whylen, "address %s is not assignable in pool \"%s\"", text,
			    v[i].name);
			break;
		}
		/* The gateway's address is as good as reserved for someone else. */
		if (is_gateway(&v[i], pl->idx)) {
			snprintf(why, whylen, "address %s is reserved for another client", text);
			rv = ERR_ADDR_TAKEN;
			break;
		}
		if ((rv = reservation_at(db, v[i].id, pl->idx, owner)) < 0)
			break;
		if (rv == 1 && strcmp(owner, r->pssid) != 0) {
			snprintf(why, whylen, "address %s is reserved for another client", text);
			rv = ERR_ADDR_TAKEN;
			break;
		}
		pl->reserved = rv;
		pl->may_be_listed = 1;
		rv = plan_check_index(db, pl, now, why, whylen);
		break;
	}
	free(v);
	if (rv == ERR_ADDR_NOT_IN_POOL && r->modes != 0)
		rv = addr_in_other_mode(db, r, text, why, whylen);
	return rv;
}

int
alloc_req_check(const struct alloc_req *r, char *why, size_t whylen)
{
	if (r->pssid == NULL || !pssid_valid(r->pssid)) {
		snprintf(why, whylen, "invalid pssid");
		return ERR_INVALID;
	}
	if (r->family != 0 && r->family != 4 && r->family != 6) {
		snprintf(why, whylen, "family %d is not 4 or 6", r->family);
		return ERR_INVALID;
	}
	if (!want_any_addr(r) && r->family != 0 && r->family != r->addr->family) {
		snprintf(why, whylen, "address family does not match the request");
		return ERR_INVALID;
	}
	/* The state channel carries unsigned ids: one past INT64_MAX arrives here negative,
	 * and prints as it was sent. */
	if (r->session_id <= 0) {
		snprintf(why, whylen, "session id %llu is out of range",
		    (unsigned long long)r->session_id);
		return ERR_INVALID;
	}
	return 0;
}

static int
grant_fits(const struct grant *g, const struct pool *p, const struct alloc_req *r)
{
	uint64_t idx;

	return pool_matches(p, r) &&
	    (want_any_addr(r) ||
		(prefix_index_of(&p->prefix, r->addr, &idx) == 0 && idx == g->index));
}

int
alloc_acquire(struct db *db, const struct alloc_req *r, int64_t now, struct grant *out, char *why,
    size_t whylen)
{
	struct alloc_req req = *r;
	struct plan pl;
	struct pool gp;
	struct grant g;
	int rv, have_grant;

	why[0] = '\0';
	if ((rv = alloc_req_check(r, why, whylen)) < 0)
		return rv;
	/* A request for a specific address is a request in that address's family. */
	if (!want_any_addr(r))
		req.family = r->addr->family;
	if ((rv = db_begin(db)) < 0)
		return rv;
	/* Managers sharing a store pick among the same free addresses: one at a time. */
	if ((rv = pool_lock_isd_as(db, req.isd_as)) < 0)
		goto fail;
	if ((rv = grant_by_pssid(db, r->pssid, &g)) < 0 && rv != ERR_NOT_FOUND)
		goto fail;
	have_grant = rv == 0;
	memset(&pl, 0, sizeof(pl));
	if ((rv = find_reservation(db, &req, &pl.pool, &pl.idx)) < 0)
		goto fail;
	pl.reserved = rv;
	if (have_grant) {
		if ((rv = pool_get(db, g.pool_id, &gp)) < 0)
			goto fail;
		if (g.state == GRANT_ASSIGNED && session_stale(&g, r->session_id)) {
			snprintf(why, whylen, "session %lld is older than the grant's session %lld",
			    (long long)r->session_id, (long long)g.session_id);
			rv = ERR_STALE_SESSION;
			goto fail;
		}
		if (grant_fits(&g, &gp, &req) &&
		    (!pl.reserved || (pl.pool.id == g.pool_id && pl.idx == g.index))) {
			if ((rv = reassign(db, &g, r, now)) < 0)
				goto fail;
			*out = g;
			return db_commit(db);
		}
	}
	if (pl.reserved) {
		pl.cursor = pl.pool.next_index;
		pl.may_be_listed = 1;
		rv = plan_check_index(db, &pl, now, why, whylen);
	} else if (!want_any_addr(&req)) {
		rv = plan_addr(db, &req, now, &pl, why, whylen);
	} else {
		rv = plan_any(db, &req, now, &pl, why, whylen);
	}
	if (rv < 0)
		goto fail;
	/* The client moves: one grant per pssid. Its old grant is elsewhere (or it would have
	 * fit), so releasing it does not disturb the plan. */
	if (have_grant && (rv = row_delete(db, &gp, &g, "release", r->actor, now, 0)) < 0)
		goto fail;
	if ((rv = execute(db, &pl, r, now, out)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

/* Load a grant and its pool for a fenced transition. */
static int
load_fenced(struct db *db, int64_t grant_id, int64_t session_id, struct grant *g, struct pool *p)
{
	int rv;

	if ((rv = grant_get(db, grant_id, g)) < 0 || (rv = pool_get(db, g->pool_id, p)) < 0)
		return rv;
	return session_stale(g, session_id) ? ERR_STALE_SESSION : 0;
}

int
alloc_session_owns(struct db *db, int64_t grant_id, int64_t agent_id, int64_t session_id)
{
	struct grant g;
	int rv;

	if ((rv = grant_get(db, grant_id, &g)) < 0)
		return rv == ERR_NOT_FOUND ? ALLOC_GONE : rv;
	/* Another session id on the grant: stale for this one (session_stale), or the grant
	 * went to a session this one never was. Either way the session lost it to another. */
	if (g.session_id != session_id)
		return ALLOC_MOVED;
	return g.agent_id == agent_id && g.state == GRANT_ASSIGNED ? ALLOC_OWNED : ALLOC_GONE;
}

int
alloc_hold(struct db *db, int64_t grant_id, int64_t session_id, const char *actor, int64_t now,
    struct grant *out)
{
	struct grant g;
	struct pool p;
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = load_fenced(db, grant_id, session_id, &g, &p)) < 0)
		goto fail;
	if (g.state == GRANT_ON_HOLD)
		goto done;
	if (p.hold_seconds == 0) {
		if ((rv = row_delete(db, &p, &g, "release", actor, now, 0)) < 0)
			goto fail;
		g.state = GRANT_ON_HOLD;
		g.hold_until = now;
		goto done;
	}
	g.state = GRANT_ON_HOLD;
	g.hold_until = now + p.hold_seconds;
	if ((rv = grant_hold(db, g.id, g.hold_until)) < 0 ||
	    (rv = grant_history_add(db, &g, "hold", actor, now)) < 0 ||
	    (rv = pool_adjust(db, p.id, -1, 1, 0, 0, NULL)) < 0)
		goto fail;
done:
	if (out != NULL)
		*out = g;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
alloc_release(struct db *db, int64_t grant_id, int64_t session_id, const char *actor, int64_t now)
{
	struct grant g;
	struct pool p;
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = load_fenced(db, grant_id, session_id, &g, &p)) < 0 ||
	    (rv = row_delete(db, &p, &g, "release", actor, now, 0)) < 0) {
		db_rollback(db);
		return rv;
	}
	return db_commit(db);
}

int
alloc_sweep(struct db *db, int64_t now, int max)
{
	struct grant *v;
	struct pool p;
	int n = 0, rv;

	if ((v = calloc((size_t)max, sizeof(*v))) == NULL)
		return ERR_NOMEM;
	if ((rv = db_begin(db)) < 0)
		goto out;
	rv = grant_list_lapsed(db, now, max, v, &n);
	for (int i = 0; rv == 0 && i < n; i++)
		if ((rv = pool_get(db, v[i].pool_id, &p)) == 0)
			rv = row_delete(db, &p, &v[i], "expire", "sweeper", now, 0);
	if (rv < 0) {
		db_rollback(db);
		goto out;
	}
	rv = db_commit(db) < 0 ? ERR_DB : n;
out:
	free(v);
	return rv;
}

int
alloc_reserve(struct db *db, int64_t pool_id, const char *pssid, const struct addr *a,
    const char *actor, int64_t now, int64_t *id, const char **field, char *why, size_t whylen)
{
	char text[ADDR_STRLEN], owner[PSSID_MAX + 1];
	struct grant g;
	struct pool p;
	uint64_t idx;
	int rv, granted = 0;

	addr_format(a, text);
	*field = "address";
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = pool_get_locked(db, pool_id, &p)) < 0)
		goto fail;
	if (prefix_index_of(&p.prefix, a, &idx) < 0 || idx < p.first || idx > p.last) {
		snprintf(why, whylen, "address %s is not an assignable address of pool \"%s\"",
		    text, p.name);
		rv = ERR_ADDR_NOT_IN_POOL;
		goto fail;
	}
	if (is_gateway(&p, idx)) {
		snprintf(why, whylen, "address %s is the gateway's address of pool \"%s\"", text,
		    p.name);
		rv = ERR_CONFLICT;
		goto fail;
	}
	if ((rv = reservation_at(db, pool_id, idx, owner)) != 0) {
		if (rv == 1) {
			snprintf(why, whylen, "address %s is already reserved for %s", text, owner);
			rv = ERR_CONFLICT;
		}
		goto fail;
	}
	if ((rv = reservation_has(db, pool_id, pssid)) != 0) {
		if (rv == 1) {
			snprintf(why, whylen, "%s already has a reservation in pool \"%s\"", pssid,
			    p.name);
			*field = "pssid";
			rv = ERR_CONFLICT;
		}
		goto fail;
	}
	if ((rv = grant_at(db, pool_id, idx, &g)) == 0) {
		if (strcmp(g.pssid, pssid) == 0) {
			granted = 1;
		} else if (g.state == GRANT_ASSIGNED || g.hold_until > now) {
			snprintf(why, whylen, "address %s is granted to another client", text);
			rv = ERR_ADDR_TAKEN;
			goto fail;
		} else if ((rv = row_delete(db, &p, &g, "expire", actor, now, 0)) < 0) {
			goto fail;
		}
	} else if (rv != ERR_NOT_FOUND) {
		goto fail;
	}
	if ((rv = reservation_add(db, pool_id, idx, text, pssid, now, id)) < 0 ||
	    (rv = freeaddr_remove(db, pool_id, idx)) < 0 ||
	    (rv = pool_adjust(db, pool_id, 0, 0, 1, granted ? 0 : 1, NULL)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

int
alloc_unreserve(struct db *db, int64_t pool_id, const struct addr *a)
{
	struct grant g;
	struct pool p;
	uint64_t idx;
	int rv, granted;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = pool_get_locked(db, pool_id, &p)) < 0)
		goto fail;
	rv = ERR_NOT_FOUND;
	if (prefix_index_of(&p.prefix, a, &idx) < 0)
		goto fail;
	if ((rv = reservation_remove(db, pool_id, idx)) < 0)
		goto fail;
	if ((rv = grant_at(db, pool_id, idx, &g)) < 0 && rv != ERR_NOT_FOUND)
		goto fail;
	granted = rv == 0;
	if (!granted && (rv = give_back(db, &p, idx)) < 0)
		goto fail;
	if ((rv = pool_adjust(db, pool_id, 0, 0, -1, granted ? 0 : -1, NULL)) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}

/* Make index idx of p the gateway's: refused while a client holds it (assigned or a live hold)
 * or it is reserved; a lapsed hold there is expired, and the index leaves the reuse list. */
static int
gateway_take(struct db *db, const struct pool *p, uint64_t idx, const char *actor, int64_t now,
    char *why, size_t whylen)
{
	char text[ADDR_STRLEN], owner[PSSID_MAX + 1];
	struct grant g;
	struct addr a;
	int rv;

	prefix_addr_at(&p->prefix, idx, &a);
	addr_format(&a, text);
	if ((rv = reservation_at(db, p->id, idx, owner)) != 0) {
		if (rv == 1) {
			snprintf(why, whylen, "address %s is reserved for %s", text, owner);
			rv = ERR_CONFLICT;
		}
		return rv;
	}
	if ((rv = grant_at(db, p->id, idx, &g)) == 0) {
		if (g.state == GRANT_ASSIGNED || g.hold_until > now) {
			snprintf(why, whylen, "address %s is granted to %s", text, g.pssid);
			return ERR_CONFLICT;
		}
		/* reuse: the index must not go back on the reuse list. */
		if ((rv = row_delete(db, p, &g, "expire", actor, now, 1)) < 0)
			return rv;
	} else if (rv != ERR_NOT_FOUND) {
		return rv;
	}
	return freeaddr_remove(db, p->id, idx);
}

int
alloc_pool_update(struct db *db, int64_t id, const struct pool_change *ch, const char *actor,
    int64_t now, const char **field, char *why, size_t whylen)
{
	struct pool p;
	int rv;

	*field = NULL;
	why[0] = '\0';
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = pool_get_locked(db, id, &p)) < 0)
		goto fail;
	if (ch->set_gateway && (p.has_gateway != ch->has_gateway || p.gateway != ch->gateway)) {
		*field = "gateway";
		if (ch->has_gateway &&
		    (rv = gateway_take(db, &p, ch->gateway, actor, now, why, whylen)) < 0)
			goto fail;
		/* The old gateway's index is an ordinary free address from now on. */
		if (p.has_gateway && (rv = give_back(db, &p, p.gateway)) < 0)
			goto fail;
	}
	*field = "name";
	if ((rv = pool_update(db, id, ch, now)) < 0) {
		if (rv == ERR_CONFLICT)
			snprintf(why, whylen, "a pool named \"%s\" exists", ch->name);
		goto fail;
	}
	*field = NULL;
	return db_commit(db);
fail:
	db_rollback(db);
	return rv;
}
