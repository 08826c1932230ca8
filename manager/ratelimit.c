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
 * Buckets live in one array allocated up front, found through the shared hash table
 * (lib/hashtab: SipHash-2-4 under a key drawn per instance, so a client cannot choose
 * addresses that pile into one chain), sized for max_entries so it never grows, and threaded on
 * a list from most to least recently seen. Every call is O(1): a lookup, a move to the front of
 * the list and, for a new source in a full table, one eviction.
 *
 * Eviction looks at the EVICT_SCAN least recently seen buckets and forgets the first one that
 * has refilled; when none has, it forgets the least recently seen, resetting a bucket that was
 * still short. A caller is never the one evicted (it is either found or not in the table), and
 * a refused source that keeps retrying stays near the front, so its bucket is only lost after
 * max_entries other sources have been seen since its last attempt. Resetting it that way
 * needs that many distinct sources, each of which already has a burst of its own, so it adds at
 * most one burst per max_entries fresh ones: an accepted trade-off with max_entries in the tens
 * of thousands (65536 cost 3.5 MB). The alternative, refusing new sources while the table is
 * full of short buckets, would let a flood lock out everyone else.
 */
#include <assert.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/hashtab.h"
#include "ratelimit.h"

#define NIL UINT32_MAX
#define EVICT_SCAN 8
#define NS_PER_S 1000000000ULL

/* A source: the family (0: the one shared source, 4 or 6), then the IPv4 address or the
 * IPv6 /64, zero-filled. */
#define SOURCE_LEN 9

struct bucket {
	struct hnode node; /* in ratelimit.index, keyed by src */
	uint64_t tat; /* monotonic ns when the bucket is full again */
	uint32_t prev, next; /* towards the most and the least recently seen */
	uint8_t src[SOURCE_LEN];
};

struct ratelimit {
	uint64_t interval; /* T: ns per token */
	uint64_t tolerance; /* tau: (burst - 1) * T */
	uint64_t now; /* the latest now_ns seen, for ratelimit_config */
	struct hashtab index;
	struct bucket *b;
	uint32_t n, max;
	uint32_t mru, lru; /* list ends */
};

static void
source_of(const struct sockaddr *sa, uint8_t src[SOURCE_LEN])
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *a;

	memset(src, 0, SOURCE_LEN);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		src[0] = 4;
		memcpy(src + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			src[0] = 4;
			memcpy(src + 1, a + 12, 4);
		} else {
			src[0] = 6;
			memcpy(src + 1, a, 8);
		}
	}
}

static const void *
bucket_key(const struct hnode *n, size_t *len)
{
	*len = SOURCE_LEN;
	return hashtab_centry(n, struct bucket, node)->src;
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
	hashtab_remove(&rl->index, &rl->b[victim].node);
	list_unlink(rl, victim);
	return victim;
}

struct ratelimit *
ratelimit_new(double rate_per_sec, double burst, size_t max_entries)
{
	struct ratelimit *rl = NULL, *ret = NULL;

	if (!limits_ok(rate_per_sec, burst) || max_entries == 0 ||
	    max_entries > RATELIMIT_ENTRIES_MAX)
		goto out;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		goto out;
	/* as many hash buckets as sources: the table never grows */
	if ((rl->b = calloc(max_entries, sizeof(*rl->b))) == NULL ||
	    hashtab_init(&rl->index, bucket_key, max_entries) < 0)
		goto out;
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
	hashtab_free(&rl->index);
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
	uint8_t src[SOURCE_LEN];
	struct bucket *e;
	struct hnode *n;
	uint64_t tat, wait;
	uint32_t i;

	if (now_ns > rl->now)
		rl->now = now_ns;
	source_of(sa, src);
	if ((n = hashtab_find(&rl->index, src, sizeof(src))) != NULL) {
		i = (uint32_t)(hashtab_entry(n, struct bucket, node) - rl->b);
		list_unlink(rl, i);
	} else {
		i = bucket_take_free(rl, now_ns);
		e = &rl->b[i];
		memcpy(e->src, src, sizeof(src));
		e->tat = 0;
		hashtab_insert(&rl->index, &e->node);
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
