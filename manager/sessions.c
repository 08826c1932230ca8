#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "sessions.h"

/* Chained hash table, doubled when it holds as many sessions as buckets. */
struct entry {
	struct entry *next;
	struct session s;
};

struct sessions {
	struct entry **buckets;
	size_t nbuckets, n;
};

#define BUCKETS_MIN 64

static size_t
slot(const struct sessions *r, uint64_t id)
{
	/* Ids are (ms << 10 | agent): mix the bits (splitmix64's finaliser). */
	id ^= id >> 30;
	id *= 0xbf58476d1ce4e5b9ULL;
	id ^= id >> 27;
	id *= 0x94d049bb133111ebULL;
	id ^= id >> 31;
	return (size_t)(id & (r->nbuckets - 1));
}

struct sessions *
sessions_new(void)
{
	struct sessions *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->buckets = calloc(BUCKETS_MIN, sizeof(*r->buckets))) == NULL) {
		free(r);
		return NULL;
	}
	r->nbuckets = BUCKETS_MIN;
	return r;
}

void
sessions_free(struct sessions *r)
{
	struct entry *e, *next;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nbuckets; i++)
		for (e = r->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(r->buckets);
	free(r);
}

static void
grow(struct sessions *r)
{
	size_t old = r->nbuckets;
	struct entry **b = calloc(old * 2, sizeof(*b)), **ob = r->buckets, *e, *next;

	if (b == NULL)
		return; /* longer chains, still correct */
	r->buckets = b;
	r->nbuckets = old * 2;
	for (size_t i = 0; i < old; i++)
		for (e = ob[i]; e != NULL; e = next) {
			size_t k = slot(r, e->s.id);
			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	free(ob);
}

struct session *
sessions_get(struct sessions *r, uint64_t id)
{
	for (struct entry *e = r->buckets[slot(r, id)]; e != NULL; e = e->next)
		if (e->s.id == id)
			return &e->s;
	return NULL;
}

int
sessions_put(struct sessions *r, const struct session *s)
{
	struct session *have = sessions_get(r, s->id);
	struct entry *e;
	size_t k;

	if (have != NULL) {
		*have = *s;
		return 0;
	}
	if ((e = malloc(sizeof(*e))) == NULL)
		return ERR_NOMEM;
	e->s = *s;
	k = slot(r, s->id);
	e->next = r->buckets[k];
	r->buckets[k] = e;
	if (++r->n > r->nbuckets)
		grow(r);
	return 0;
}

int
sessions_remove(struct sessions *r, uint64_t id, uint64_t agent_id)
{
	for (struct entry **p = &r->buckets[slot(r, id)]; *p != NULL; p = &(*p)->next) {
		struct entry *e = *p;
		if (e->s.id != id)
			continue;
		if (e->s.agent_id != agent_id)
			return 0;
		*p = e->next;
		free(e);
		r->n--;
		return 1;
	}
	return 0;
}

/* Forget agent_id's sessions that are not marked seen (and clear the marks). */
static size_t
sweep_agent(struct sessions *r, uint64_t agent_id)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nbuckets; i++)
		for (struct entry **p = &r->buckets[i]; *p != NULL;) {
			struct entry *e = *p;
			if (e->s.agent_id == agent_id && !e->s.seen) {
				*p = e->next;
				free(e);
				r->n--;
				n++;
				continue;
			}
			e->s.seen = 0;
			p = &e->next;
		}
	return n;
}

size_t
sessions_remove_agent(struct sessions *r, uint64_t agent_id)
{
	return sweep_agent(r, agent_id);
}

size_t
sessions_reconcile(struct sessions *r, uint64_t agent_id, const uint64_t *keep, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct session *s = sessions_get(r, keep[i]);
		if (s != NULL && s->agent_id == agent_id)
			s->seen = 1;
	}
	return sweep_agent(r, agent_id);
}

size_t
sessions_count(const struct sessions *r, uint64_t agent_id)
{
	size_t n = 0;

	if (agent_id == 0)
		return r->n;
	for (size_t i = 0; i < r->nbuckets; i++)
		for (const struct entry *e = r->buckets[i]; e != NULL; e = e->next)
			n += e->s.agent_id == agent_id;
	return n;
}

static int
by_id(const void *a, const void *b)
{
	uint64_t x = (*(const struct session *const *)a)->id;
	uint64_t y = (*(const struct session *const *)b)->id;

	return x < y ? -1 : x > y;
}

int
sessions_list(const struct sessions *r, const struct sessions_filter *f, uint64_t after, int limit,
    struct session *out, int *n)
{
	const struct session **v = NULL;
	size_t m = 0;

	*n = 0;
	if (r->n > 0 && (v = malloc(r->n * sizeof(*v))) == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < r->nbuckets; i++)
		for (const struct entry *e = r->buckets[i]; e != NULL; e = e->next)
			if (e->s.id > after && (f->agent_id == 0 || e->s.agent_id == f->agent_id) &&
			    (f->pssid == NULL || strcmp(e->s.pssid, f->pssid) == 0))
				v[m++] = &e->s;
	if (m > 0)
		qsort(v, m, sizeof(*v), by_id);
	for (size_t i = 0; i < m && *n < limit; i++)
		out[(*n)++] = *v[i];
	free(v);
	return 0;
}
