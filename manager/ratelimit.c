/*
 * Each source has a token bucket kept as one deadline (GCRA, the "virtual scheduling" form of
 * a token bucket): tat is when the bucket will be full again. With T = 1/rate and
 * tau = (burst - 1) * T, a take at now is allowed when tat - now <= tau, and moves tat to
 * max(tat, now) + T. A bucket with tat <= now is full, and so is no different from a source never
 * seen, which is what makes forgetting it free. Integer nanoseconds keep the arithmetic exact.
 *
 * Sources: an IPv4 address, or the /64 prefix of an IPv6 address, since one host (one
 * subscriber line, one VM) is routinely given a whole /64 and can use any address in it.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, from a dual-stack socket) are IPv4.
 *
 * Buckets live in one array allocated up front, found through a chained hash table with at
 * least as many heads as buckets, and threaded on a list from most to least recently seen.
 * The hash is SipHash-2-4 under a key drawn per instance from gnutls_rnd, so a client cannot
 * choose addresses that pile into one chain. Every call is O(1): a lookup, a move to the front
 * of the list and, for a new source in a full table, one eviction.
 *
 * Eviction looks at the EVICT_SCAN least recently seen buckets and forgets the first one that
 * has refilled; when none has, it forgets the least recently seen, resetting a bucket that was
 * still short. A caller is never the one evicted (it is either found or not in the table), and
 * a refused source that keeps retrying stays near the front, so its bucket is only lost after
 * max_entries other sources have been seen since its last attempt. Resetting it that way
 * needs that many distinct sources, each of which already has a burst of its own, so it adds at
 * most one burst per max_entries fresh ones: an accepted trade-off with max_entries in the tens
 * of thousands (65536 cost 2.3 MB). The alternative, refusing new sources while the table is
 * full of short buckets, would let a flood lock out everyone else.
 */
#include <assert.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/siphash.h"
#include "ratelimit.h"

#define NIL UINT32_MAX
#define EVICT_SCAN 8
#define NS_PER_S 1000000000ULL

/* family: 0 (one shared source), 4 or 6; key: the address or the /64, host order. */
struct bucket {
	uint64_t key;
	uint64_t tat; /* monotonic ns when the bucket is full again */
	uint32_t hnext; /* next in the hash chain */
	uint32_t prev, next; /* towards the most and the least recently seen */
	uint8_t family;
};

struct ratelimit {
	uint64_t interval; /* T: ns per token */
	uint64_t tolerance; /* tau: (burst - 1) * T */
	uint64_t now; /* the latest now_ns seen, for ratelimit_config */
	unsigned char sipkey[SIPHASH_KEY_LEN];
	struct bucket *b;
	uint32_t *heads;
	uint32_t mask; /* heads has mask + 1 entries */
	uint32_t n, max;
	uint32_t mru, lru; /* list ends */
};

static uint64_t
be_load(const unsigned char *p, int len)
{
	uint64_t v = 0;

	for (int i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static void
source_key(const struct sockaddr *sa, uint8_t *family, uint64_t *key)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *a;

	*family = 0;
	*key = 0;
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		*family = 4;
		*key = be_load(a, 4);
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			*family = 4;
			*key = be_load(a + 12, 4);
		} else {
			*family = 6;
			*key = be_load(a, 8);
		}
	}
}

static uint32_t
slot(const struct ratelimit *rl, uint8_t family, uint64_t key)
{
	unsigned char m[9];

	memcpy(m, &key, 8);
	m[8] = family;
	return (uint32_t)siphash24(rl->sipkey, m, sizeof(m)) & rl->mask;
}

static int
limits_ok(double rate, double burst)
{
	return rate >= RATELIMIT_RATE_MIN && rate <= RATELIMIT_RATE_MAX &&
	    burst >= RATELIMIT_BURST_MIN && burst <= RATELIMIT_BURST_MAX;
}

static void
set_limits(struct ratelimit *rl, double rate, double burst)
{
	rl->interval = (uint64_t)((double)NS_PER_S / rate + 0.5);
	rl->tolerance = (uint64_t)((burst - 1) * (double)rl->interval + 0.5);
}

static void
list_unlink(struct ratelimit *rl, uint32_t i)
{
	struct bucket *e = &rl->b[i];

	if (e->prev != NIL)
		rl->b[e->prev].next = e->next;
	else
		rl->mru = e->next;
	if (e->next != NIL)
		rl->b[e->next].prev = e->prev;
	else
		rl->lru = e->prev;
}

static void
list_push_front(struct ratelimit *rl, uint32_t i)
{
	struct bucket *e = &rl->b[i];

	e->prev = NIL;
	e->next = rl->mru;
	if (rl->mru != NIL)
		rl->b[rl->mru].prev = i;
	else
		rl->lru = i;
	rl->mru = i;
}

static void
hash_unlink(struct ratelimit *rl, uint32_t i)
{
	uint32_t *p = &rl->heads[slot(rl, rl->b[i].family, rl->b[i].key)];

	while (*p != i) {
		assert(*p != NIL);
		p = &rl->b[*p].hnext;
	}
	*p = rl->b[i].hnext;
}

/* A bucket for a source not in the table: a fresh one while there is room, else a forgotten
 * one (see the top of the file for which). It is unlinked from both structures. */
static uint32_t
bucket_take_free(struct ratelimit *rl, uint64_t now)
{
	uint32_t i, victim;
	int k;

	if (rl->n < rl->max)
		return rl->n++;
	victim = rl->lru;
	for (i = rl->lru, k = 0; i != NIL && k < EVICT_SCAN; i = rl->b[i].prev, k++)
		if (rl->b[i].tat <= now) {
			victim = i;
			break;
		}
	hash_unlink(rl, victim);
	list_unlink(rl, victim);
	return victim;
}

struct ratelimit *
ratelimit_new(double rate_per_sec, double burst, size_t max_entries)
{
	struct ratelimit *rl = NULL, *ret = NULL;
	size_t nheads;

	if (!limits_ok(rate_per_sec, burst) || max_entries == 0 ||
	    max_entries > RATELIMIT_ENTRIES_MAX)
		goto out;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		goto out;
	for (nheads = 1; nheads < max_entries; nheads <<= 1)
		;
	rl->b = calloc(max_entries, sizeof(*rl->b));
	rl->heads = malloc(nheads * sizeof(*rl->heads));
	if (rl->b == NULL || rl->heads == NULL)
		goto out;
	if (gnutls_rnd(GNUTLS_RND_RANDOM, rl->sipkey, sizeof(rl->sipkey)) != 0)
		goto out;
	memset(rl->heads, 0xff, nheads * sizeof(*rl->heads));
	rl->mask = (uint32_t)(nheads - 1);
	rl->max = (uint32_t)max_entries;
	rl->mru = rl->lru = NIL;
	set_limits(rl, rate_per_sec, burst);
	ret = rl;
	rl = NULL;
out:
	ratelimit_free(rl);
	return ret;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->b);
	free(rl->heads);
	free(rl);
}

void
ratelimit_config(struct ratelimit *rl, double rate_per_sec, double burst)
{
	double ratio, scaled;
	uint64_t old = rl->interval, cap, owed;

	assert(limits_ok(rate_per_sec, burst));
	set_limits(rl, rate_per_sec, burst);
	/* A bucket's shortfall, (tat - now) / T tokens, is kept as of the last call we saw; with
	 * a smaller burst it is capped at the whole new burst, so nobody waits longer than a
	 * bucket emptied under the new limits would. */
	ratio = (double)rl->interval / (double)old;
	cap = rl->tolerance + rl->interval;
	for (uint32_t i = 0; i < rl->n; i++) {
		if (rl->b[i].tat <= rl->now)
			continue;
		scaled = (double)(rl->b[i].tat - rl->now) * ratio;
		owed = (uint64_t)(scaled + 0.5);
		rl->b[i].tat = rl->now + (owed < cap ? owed : cap);
	}
}

int
ratelimit_take(
    struct ratelimit *rl, const struct sockaddr *sa, uint64_t now_ns, unsigned *retry_after_s)
{
	struct bucket *e;
	uint64_t key, tat, wait;
	uint32_t i, h;
	uint8_t family;

	if (now_ns > rl->now)
		rl->now = now_ns;
	source_key(sa, &family, &key);
	h = slot(rl, family, key);
	for (i = rl->heads[h]; i != NIL; i = rl->b[i].hnext)
		if (rl->b[i].key == key && rl->b[i].family == family)
			break;
	if (i != NIL) {
		list_unlink(rl, i);
	} else {
		i = bucket_take_free(rl, now_ns);
		e = &rl->b[i];
		e->key = key;
		e->family = family;
		e->tat = 0;
		e->hnext = rl->heads[h];
		rl->heads[h] = i;
	}
	/* Seen now, refused or not: a source that keeps trying is the last to be forgotten. */
	list_push_front(rl, i);
	e = &rl->b[i];
	tat = e->tat > now_ns ? e->tat : now_ns;
	if (tat - now_ns > rl->tolerance) {
		if (retry_after_s != NULL) {
			wait = tat - now_ns - rl->tolerance;
			*retry_after_s = (unsigned)((wait + NS_PER_S - 1) / NS_PER_S);
		}
		return 0;
	}
	e->tat = tat + rl->interval;
	return 1;
}

size_t
ratelimit_size(const struct ratelimit *rl)
{
	return rl->n;
}
