#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "../lib/log.h"
#include "state.h"

/* A revoked pssid, in state.revoked. */
struct state_revoked {
	struct hnode node;
	char pssid[PSSID_MAX + 1];
};

static const void *
revoked_key(const struct hnode *n, size_t *len)
{
	const struct state_revoked *r = hashtab_centry(n, struct state_revoked, node);

	*len = strlen(r->pssid);
	return r->pssid;
}

struct state *
state_new(void)
{
	struct state *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if (hashtab_init(&st->revoked, revoked_key, 0) < 0 ||
	    (st->keyset = jwt_keyset_new()) == NULL) {
		state_free(st);
		return NULL;
	}
	return st;
}

void
state_free(struct state *st)
{
	struct hashtab_iter it;
	struct hnode *n;

	if (st == NULL)
		return;
	jwt_keyset_free(st->keyset);
	for (size_t i = 0; i < st->nkeys; i++)
		free(st->keys[i].pem);
	free(st->keys);
	free(st->grants);
	free(st->pools);
	for (n = hashtab_first(&st->revoked, &it); n != NULL; n = hashtab_next(&it))
		free(hashtab_entry(n, struct state_revoked, node));
	hashtab_free(&st->revoked);
	free(st);
}

/* Grow *arr (of *cap elements of size) to hold one more than n. 0 or ERR_NOMEM. */
static int
grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if ((p = realloc(*arr, ncap * size)) == NULL)
		return ERR_NOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- revoked pssids ---- */

int
state_revoke(struct state *st, const char *pssid)
{
	struct state_revoked *r;

	if (!pssid_valid(pssid))
		return ERR_INVALID;
	if (state_revoked(st, pssid))
		return 0;
	if ((r = malloc(sizeof(*r))) == NULL)
		return ERR_NOMEM;
	strcpy(r->pssid, pssid);
	hashtab_insert(&st->revoked, &r->node);
	return 0;
}

int
state_revoked(const struct state *st, const char *pssid)
{
	return hashtab_find(&st->revoked, pssid, strlen(pssid)) != NULL;
}

/* ---- keys ---- */

/* Rebuild the keyset from keys[] in their order (the last pushed is tried first for a token
 * without kid): a key jwtkey refuses was refused when it came in. */
static int
keyset_rebuild(struct state *st)
{
	struct jwt_keyset *ks;

	if ((ks = jwt_keyset_new()) == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < st->nkeys; i++) {
		int rv = jwt_keyset_add_pem(
		    ks, st->keys[i].kid, st->keys[i].pem, strlen(st->keys[i].pem));
		if (rv == ERR_NOMEM) {
			jwt_keyset_free(ks);
			return rv;
		}
		/* A key with an end is one of the manager's earlier keys, whose tokens always
		 * name it: a token without kid is no business of its, however many rotations
		 * there were. */
		if (rv == 0 && st->keys[i].verify_until != 0)
			jwt_keyset_kidless(ks, st->keys[i].kid, 0);
		/* Checked when the key came in (state_key_put()). */
		if (rv == 0)
			jwt_keyset_pin(ks, st->keys[i].kid, st->keys[i].iss, st->keys[i].aud);
	}
	jwt_keyset_free(st->keyset);
	st->keyset = ks;
	return 0;
}

static ssize_t
key_index(const struct state *st, const char *kid)
{
	for (size_t i = 0; i < st->nkeys; i++)
		if (strcmp(st->keys[i].kid, kid) == 0)
			return (ssize_t)i;
	return -1;
}

int
state_key_put(struct state *st, const State__Key *k)
{
	struct jwt_keyset *probe;
	ssize_t i;
	char *pem;
	int rv;

	if (k == NULL || strlen(k->kid) > JWT_KID_MAX || k->kid[0] == '\0' ||
	    (k->pinned_iss[0] != '\0' && !jwt_pin_valid(k->pinned_iss)) ||
	    (k->pinned_aud[0] != '\0' && !jwt_pin_valid(k->pinned_aud)))
		return ERR_INVALID;
	/* The key must load on its own, and its type must be the algorithm the manager says. */
	if ((probe = jwt_keyset_new()) == NULL)
		return ERR_NOMEM;
	rv = jwt_keyset_add_pem(probe, k->kid, k->public_key_pem, strlen(k->public_key_pem));
	if (rv == 0 && probe->keys[0].alg != jwt_alg_parse(k->alg))
		rv = ERR_INVALID;
	jwt_keyset_free(probe);
	if (rv < 0)
		return rv;
	if ((pem = strdup(k->public_key_pem)) == NULL)
		return ERR_NOMEM;
	if ((i = key_index(st, k->kid)) >= 0) {
		free(st->keys[i].pem);
	} else {
		if (grow((void **)&st->keys, &st->capkeys, st->nkeys, sizeof(*st->keys)) < 0) {
			free(pem);
			return ERR_NOMEM;
		}
		i = (ssize_t)st->nkeys++;
		strcpy(st->keys[i].kid, k->kid);
	}
	st->keys[i].pem = pem;
	st->keys[i].verify_until = k->verify_until;
	strcpy(st->keys[i].iss, k->pinned_iss);
	strcpy(st->keys[i].aud, k->pinned_aud);
	return keyset_rebuild(st);
}

int
state_key_retire(struct state *st, const char *kid)
{
	ssize_t i;

	if ((i = key_index(st, kid)) < 0)
		return 0;
	free(st->keys[i].pem);
	st->keys[i] = st->keys[--st->nkeys];
	return keyset_rebuild(st);
}

int
state_verify_token(
    const struct state *st, const char *token, size_t len, int64_t now, struct jwt_claims *out)
{
	ssize_t i;
	int rv;

	if ((rv = jwt_verify(st->keyset, token, len, now, out)) < 0)
		return rv;
	if ((i = key_index(st, out->kid)) >= 0 && st->keys[i].verify_until != 0 &&
	    now > st->keys[i].verify_until) {
		memset(out, 0, sizeof(*out));
		return JWT_ERR_UNKNOWN_KEY;
	}
	return 0;
}

/* ---- grants and pools ---- */

static int
addr_from(const ProtobufCBinaryData *b, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (b->len == 4)
		a->family = 4;
	else if (b->len == 16)
		a->family = 6;
	else
		return ERR_INVALID;
	memcpy(a->b, b->data, b->len);
	return 0;
}

static ssize_t
grant_index(const struct state *st, uint64_t id)
{
	for (size_t i = 0; i < st->ngrants; i++)
		if (st->grants[i].id == id)
			return (ssize_t)i;
	return -1;
}

const struct state_grant *
state_grant_find(const struct state *st, uint64_t grant_id)
{
	ssize_t i = grant_index(st, grant_id);

	return i < 0 ? NULL : &st->grants[i];
}

int
state_grant_put(struct state *st, const State__Grant *g)
{
	struct state_grant sg;
	ssize_t i;

	memset(&sg, 0, sizeof(sg));
	if (g->grant_id == 0 || !pssid_valid(g->pssid) || addr_from(&g->address, &sg.addr) < 0)
		return ERR_INVALID;
	sg.id = g->grant_id;
	sg.session_id = g->session_id;
	sg.pool_id = g->pool_id;
	sg.isd_as = g->isd_as;
	strcpy(sg.pssid, g->pssid);
	sg.on_hold = g->state == STATE__GRANT_STATE__GRANT_STATE_ON_HOLD;
	sg.hold_until = g->hold_until;
	if ((i = grant_index(st, sg.id)) < 0) {
		if (grow((void **)&st->grants, &st->capgrants, st->ngrants, sizeof(sg)) < 0)
			return ERR_NOMEM;
		i = (ssize_t)st->ngrants++;
	}
	st->grants[i] = sg;
	return 0;
}

void
state_grant_release(struct state *st, uint64_t id)
{
	ssize_t i = grant_index(st, id);

	if (i >= 0)
		st->grants[i] = st->grants[--st->ngrants];
}

static ssize_t
pool_index(const struct state *st, uint64_t id)
{
	for (size_t i = 0; i < st->npools; i++)
		if (st->pools[i].id == id)
			return (ssize_t)i;
	return -1;
}

int
state_pool_put(struct state *st, const State__Pool *p)
{
	struct state_pool sp;
	ssize_t i;

	memset(&sp, 0, sizeof(sp));
	if (p == NULL || p->id == 0 || addr_from(&p->prefix, &sp.prefix.net) < 0 ||
	    p->prefix_length > (sp.prefix.net.family == 4 ? 32u : 128u))
		return ERR_INVALID;
	sp.id = p->id;
	sp.isd_as = p->isd_as;
	snprintf(sp.name, sizeof(sp.name), "%s", p->name);
	sp.prefix.len = p->prefix_length;
	sp.mode = p->mode == STATE__POOL_MODE__POOL_MODE_SCION ? STATE_POOL_SCION : STATE_POOL_IP;
	sp.hold_seconds = p->hold_seconds;
	/* The gateway must be an address of the pool: the TUN device gets it with the pool's
	 * prefix length, and ICMP errors come from it. */
	if (p->gateway.len != 0 &&
	    (addr_from(&p->gateway, &sp.gateway) < 0 || !prefix_contains(&sp.prefix, &sp.gateway)))
		return ERR_INVALID;
	sp.isolate_clients = p->isolate_clients;
	if ((i = pool_index(st, sp.id)) < 0) {
		if (grow((void **)&st->pools, &st->cappools, st->npools, sizeof(sp)) < 0)
			return ERR_NOMEM;
		i = (ssize_t)st->npools++;
	}
	st->pools[i] = sp;
	return 0;
}

const struct state_pool *
state_pool_of(const struct state *st, const struct addr *a)
{
	for (size_t i = 0; i < st->npools; i++)
		if (prefix_contains(&st->pools[i].prefix, a))
			return &st->pools[i];
	return NULL;
}

void
state_pool_remove(struct state *st, uint64_t id)
{
	ssize_t i = pool_index(st, id);

	if (i >= 0)
		st->pools[i] = st->pools[--st->npools];
}

void
state_limits_set(struct state *st, const State__Limits *l)
{
	st->limits.max_sessions = l->max_sessions;
	st->limits.max_sessions_per_pssid = l->max_sessions_per_pssid;
	st->limits.session_rate_bps = l->session_rate_bps;
	st->limits.idle_timeout_seconds = l->idle_timeout_seconds;
	st->limits.heartbeat_seconds = l->heartbeat_seconds;
	st->limits.stats_seconds = l->stats_seconds;
}
