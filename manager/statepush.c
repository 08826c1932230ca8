/* The snapshot and the deltas of the state channel. See statepush.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/agentdelta.h"
#include "../db/agentsnap.h"
#include "../db/db.h"
#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../proto/chanbuf.h"
#include "agentconn.h"
#include "agentlink.h"
#include "app.h"
#include "../db/pool.h"
#include "../db/revocation.h"
#include "statepush.h"

#define SNAPSHOT_BATCH 256 /* revocations, grants or pools read per query of a snapshot */

/* ---- state messages from records ---- */

static void
key_msg(State__Key *m, const struct agentsnap_key *k)
{
	state__key__init(m);
	/* The store's text, only read while the message is packed (protobuf-c wants char *). */
	m->kid = (char *)(uintptr_t)k->kid;
	m->alg = (char *)(uintptr_t)k->alg;
	m->public_key_pem = (char *)(uintptr_t)k->pem;
	m->verify_until = k->verify_until;
	m->pinned_iss = (char *)(uintptr_t)k->iss;
	m->pinned_aud = (char *)(uintptr_t)k->aud;
}

/* A POOL message and the storage it points into (the pool itself is pointed to as well:
 * both must outlive the packing). */
struct pool_wire {
	State__Pool m;
	struct addr gateway;
	State__Route route[POOL_ROUTES_MAX];
	State__Route *routes[POOL_ROUTES_MAX];
};

static void
pool_msg(struct pool_wire *w, struct pool *p)
{
	State__Pool *m = &w->m;

	state__pool__init(m);
	m->id = (uint64_t)p->id;
	m->name = p->name;
	m->isd_as = p->isd_as;
	m->prefix.data = p->prefix.net.b;
	m->prefix.len = p->prefix.net.family == 4 ? 4 : 16;
	m->prefix_length = p->prefix.len;
	m->mode = p->mode == POOL_MODE_SCION ? STATE__POOL_MODE__POOL_MODE_SCION
					     : STATE__POOL_MODE__POOL_MODE_IP;
	m->hold_seconds = (uint32_t)p->hold_seconds;
	if (p->has_gateway) {
		prefix_addr_at(&p->prefix, p->gateway, &w->gateway);
		m->gateway.data = w->gateway.b;
		m->gateway.len = m->prefix.len;
	}
	for (int i = 0; i < p->n_routes; i++) {
		state__route__init(&w->route[i]);
		w->route[i].prefix.data = p->routes[i].net.b;
		w->route[i].prefix.len = p->routes[i].net.family == 4 ? 4 : 16;
		w->route[i].prefix_length = p->routes[i].len;
		w->routes[i] = &w->route[i];
	}
	m->n_routes = (size_t)p->n_routes;
	m->routes = w->routes;
	m->isolate_clients = !p->client_to_client;
}

/* g as a GRANT; a is the storage of its address. */
static void
grant_msg(State__Grant *m, struct agentsnap_grant *g, struct addr *a)
{
	state__grant__init(m);
	m->grant_id = (uint64_t)g->id;
	m->pssid = g->pssid;
	if (addr_parse(g->address, a) == 0) {
		m->address.data = a->b;
		m->address.len = a->family == 4 ? 4 : 16;
	}
	m->isd_as = g->isd_as;
	m->session_id = (uint64_t)g->session_id;
	m->state = g->on_hold ? STATE__GRANT_STATE__GRANT_STATE_ON_HOLD
			      : STATE__GRANT_STATE__GRANT_STATE_ASSIGNED;
	m->hold_until = g->hold_until;
	m->pool_id = (uint64_t)g->pool_id;
}

static void
revoked_msg(State__Revoked *m, struct revocation *r)
{
	state__revoked__init(m);
	m->pssid = r->pssid;
	m->reason = r->reason;
	m->revoked_at = r->created_at;
}

/* ---- the snapshot ---- */

void
statepush_start(struct agentconn *c)
{
	State__SnapshotBegin begin;

	if (c->snap != SNAP_NONE)
		log_info("%s: snapshot %llu restarted after %llu items", c->name,
		    (unsigned long long)c->snap_gen, (unsigned long long)c->snap_items);
	c->snap = SNAP_KEYS;
	c->snap_gen = ++c->link->generation;
	c->snap_items = 0;
	c->snap_after = 0;
	c->snap_peak = chanbuf_queued(c->buf);
	c->snap_started_ns = clock_mono_ns();
	state__snapshot_begin__init(&begin);
	begin.generation = c->snap_gen;
	agentconn_send(c, CHAN_SNAPSHOT_BEGIN, 0, &begin.base);
}

/* Queue one item of c's snapshot. 0, or -1 when c was dropped. */
static int
snapshot_item(struct agentconn *c, enum chan_msg type, const ProtobufCMessage *msg)
{
	if (agentconn_send(c, type, 0, msg) < 0)
		return -1;
	c->snap_items++;
	if (chanbuf_queued(c->buf) > c->snap_peak)
		c->snap_peak = chanbuf_queued(c->buf);
	return 0;
}

/* Whether c's piece must stop here: dropped, or its queue reached the low-water mark. */
static int
snapshot_full(struct agentconn *c)
{
	return c->dead || chanbuf_queued(c->buf) >= AGENTLINK_SNAPSHOT_LOW;
}

/* The pieces of a snapshot. Each returns 1 when its phase is done, 0 when more of it remains
 * (or c was dropped), or a negative err of the store. */

static int
snapshot_key(void *arg, const struct agentsnap_key *k)
{
	State__Key key;

	key_msg(&key, k);
	return snapshot_item(arg, CHAN_KEY, &key.base) < 0;
}

/* Every key in one piece: there are a few. */
static int
snapshot_keys(struct agentconn *c)
{
	int rv = agentsnap_keys(c->link->app->db, snapshot_key, c);

	return rv < 0 ? rv : rv == 0;
}

/* The revocations after the cursor, until the queue reaches the low-water mark. */
static int
snapshot_revoked(struct agentconn *c)
{
	struct revocation *v = calloc(SNAPSHOT_BATCH, sizeof(*v));
	State__Revoked rev;
	int rv, n = 0;

	if (v == NULL)
		return ERR_NOMEM;
	if ((rv = revocation_list(c->link->app->db, NULL, c->snap_after, SNAPSHOT_BATCH, v, &n)) <
	    0)
		goto out;
	rv = n < SNAPSHOT_BATCH;
	for (int i = 0; i < n; i++) {
		c->snap_after = v[i].id;
		revoked_msg(&rev, &v[i]);
		if (snapshot_item(c, CHAN_REVOKED, &rev.base) < 0 || snapshot_full(c)) {
			rv = 0;
			break;
		}
	}
out:
	free(v);
	return rv;
}

/* The agent's grants after the cursor (assigned, or on hold and not lapsed), until the queue
 * reaches the low-water mark. */
static int
snapshot_grants(struct agentconn *c)
{
	struct agentsnap_grant *v = calloc(SNAPSHOT_BATCH, sizeof(*v));
	State__Grant grant;
	struct addr a;
	int rv, n = 0;

	if (v == NULL)
		return ERR_NOMEM;
	if ((rv = agentsnap_grants(c->link->app->db, (int64_t)c->agent_id, c->link->app->now(),
		 c->snap_after, SNAPSHOT_BATCH, v, &n)) < 0)
		goto out;
	rv = n < SNAPSHOT_BATCH;
	for (int i = 0; i < n; i++) {
		c->snap_after = v[i].id;
		grant_msg(&grant, &v[i], &a);
		if (snapshot_item(c, CHAN_GRANT, &grant.base) < 0 || snapshot_full(c)) {
			rv = 0;
			break;
		}
	}
out:
	free(v);
	return rv;
}

/* Every pool in one piece: there are a few. */
static int
snapshot_pools(struct agentconn *c)
{
	struct pool *v = calloc(SNAPSHOT_BATCH, sizeof(*v));
	struct pool_wire pool;
	int rv, n = SNAPSHOT_BATCH;

	if (v == NULL)
		return ERR_NOMEM;
	for (rv = 1; rv == 1 && n == SNAPSHOT_BATCH;) {
		if ((rv = pool_list(c->link->app->db, c->snap_after, SNAPSHOT_BATCH, v, &n)) < 0)
			break;
		rv = 1;
		for (int i = 0; i < n && rv == 1; i++) {
			c->snap_after = v[i].id;
			pool_msg(&pool, &v[i]);
			if (snapshot_item(c, CHAN_POOL, &pool.m.base) < 0)
				rv = 0;
		}
	}
	free(v);
	return rv;
}

/* LIMITS, then SNAPSHOT_END with the count of this generation's items. */
static int
snapshot_end(struct agentconn *c)
{
	State__Limits limits;
	State__SnapshotEnd end;
	size_t queued;

	state__limits__init(&limits);
	limits.heartbeat_seconds = AGENTLINK_HEARTBEAT_SECONDS;
	limits.stats_seconds = AGENTLINK_STATS_SECONDS;
	if (snapshot_item(c, CHAN_LIMITS, &limits.base) < 0)
		return 0;
	state__snapshot_end__init(&end);
	end.generation = c->snap_gen;
	end.item_count = c->snap_items;
	if (agentconn_send(c, CHAN_SNAPSHOT_END, 0, &end.base) < 0)
		return 0;
	queued = chanbuf_queued(c->buf);
	log_info("%s: snapshot %llu queued: %llu items in %llu ms, at most %zu bytes queued",
	    c->name, (unsigned long long)c->snap_gen, (unsigned long long)c->snap_items,
	    (unsigned long long)((clock_mono_ns() - c->snap_started_ns) / 1000000u),
	    c->snap_peak > queued ? c->snap_peak : queued);
	return 1;
}

void
statepush_pump(struct agentconn *c)
{
	int rv = 1;

	if (c->snap == SNAP_NONE || db_in_tx(c->link->app->db))
		return;
	while (
	    !c->dead && c->snap != SNAP_NONE && chanbuf_queued(c->buf) < AGENTLINK_SNAPSHOT_LOW) {
		switch (c->snap) {
		case SNAP_KEYS: rv = snapshot_keys(c); break;
		case SNAP_REVOKED: rv = snapshot_revoked(c); break;
		case SNAP_GRANTS: rv = snapshot_grants(c); break;
		case SNAP_POOLS: rv = snapshot_pools(c); break;
		case SNAP_END: rv = snapshot_end(c); break;
		case SNAP_NONE: break;
		}
		if (rv < 0) {
			agentconn_drop(
			    c, "cannot read its snapshot from the store: %s", err_str(rv));
			return;
		}
		if (rv == 1 && !c->dead) {
			c->snap = c->snap == SNAP_END ? SNAP_NONE : c->snap + 1;
			c->snap_after = 0;
		}
	}
}

/* ---- deltas ---- */

/* Send one delta to every agent (agent 0) or to one. */
static void
broadcast(struct agentlink *l, uint64_t agent, enum chan_msg type, const ProtobufCMessage *m)
{
	for (struct agentconn *c = l->conns; c != NULL; c = c->next)
		if (!c->dead && c->state == AGENTCONN_READY && (agent == 0 || c->agent_id == agent))
			agentconn_send(c, type, 0, m);
}

int
statepush_session_kill(struct agentconn *c, uint64_t session_id, const char *reason)
{
	State__SessionKill sk;

	state__session_kill__init(&sk);
	sk.session_id = session_id;
	sk.reason = (char *)(uintptr_t)reason;
	return agentconn_send(c, CHAN_SESSION_KILL, 0, &sk.base);
}

static int
key_add(void *arg, const struct agentsnap_key *k)
{
	State__KeyAdd ka;
	State__Key key;

	key_msg(&key, k);
	state__key_add__init(&ka);
	ka.key = &key;
	broadcast(arg, 0, CHAN_KEY_ADD, &ka.base);
	return 0;
}

void
statepush_delta(struct agentlink *l, const struct agentdelta *d, int *resnapshot)
{
	State__KeyRetire kr;
	State__Revoke rv;
	State__GrantRelease gr;
	State__PoolUpdate pu;
	struct pool_wire pool;
	struct pool p;

	switch (d->kind) {
	case AGENTDELTA_REVOKE:
		state__revoke__init(&rv);
		rv.pssid = (char *)(uintptr_t)d->name;
		rv.reason = (char *)(uintptr_t)d->reason;
		broadcast(l, 0, CHAN_REVOKE, &rv.base);
		break;
	case AGENTDELTA_UNREVOKE:
		/* No message lifts a revocation: a fresh snapshot replaces the agents' list. */
		*resnapshot = 1;
		break;
	case AGENTDELTA_KEY:
		/* Retired since (its KEY_RETIRE row follows) or unreadable: nothing to send. */
		agentsnap_key(l->app->db, d->name, key_add, l);
		break;
	case AGENTDELTA_KEY_RETIRE:
		state__key_retire__init(&kr);
		kr.kid = (char *)(uintptr_t)d->name;
		broadcast(l, 0, CHAN_KEY_RETIRE, &kr.base);
		break;
	case AGENTDELTA_GRANT_RELEASE:
		state__grant_release__init(&gr);
		gr.grant_id = d->object_id;
		gr.reason = (char *)(uintptr_t)d->reason;
		broadcast(l, d->agent_id, CHAN_GRANT_RELEASE, &gr.base);
		break;
	case AGENTDELTA_SESSION_KILL:
		for (struct agentconn *c = l->conns; c != NULL; c = c->next)
			if (!c->dead && c->state == AGENTCONN_READY &&
			    (d->agent_id == 0 || c->agent_id == d->agent_id))
				statepush_session_kill(c, d->object_id, d->reason);
		break;
	case AGENTDELTA_POOL:
		if (d->object_id > INT64_MAX || pool_get(l->app->db, (int64_t)d->object_id, &p) < 0)
			break; /* deleted since: its pool_removed row follows */
		pool_msg(&pool, &p);
		state__pool_update__init(&pu);
		pu.pool = &pool.m;
		broadcast(l, 0, CHAN_POOL_UPDATE, &pu.base);
		break;
	case AGENTDELTA_POOL_REMOVED:
		state__pool__init(&pool.m);
		pool.m.id = d->object_id;
		state__pool_update__init(&pu);
		pu.removed = 1;
		pu.pool = &pool.m;
		broadcast(l, 0, CHAN_POOL_UPDATE, &pu.base);
		break;
	case AGENTDELTA_UNKNOWN: break;
	}
}
