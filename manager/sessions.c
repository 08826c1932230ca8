#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "../lib/hashtab.h"
#include "sessions.h"

struct entry {
	struct hnode node;
	struct session s;
};

struct sessions {
	struct hashtab t; /* of struct entry, keyed by s.id */
	sessions_watch_fn *watch;
	void *watch_arg;
};

#define BUCKETS_MIN 64

static const void *
entry_key(const struct hnode *n, size_t *len)
{
	*len = sizeof(uint64_t);
	return &hashtab_centry(n, struct entry, node)->s.id;
}

static struct entry *
find(const struct sessions *r, uint64_t id)
{
	struct hnode *n = hashtab_find(&r->t, &id, sizeof(id));

	return n != NULL ? hashtab_entry(n, struct entry, node) : NULL;
}

struct sessions *
sessions_new(void)
{
	struct sessions *r = calloc(1, sizeof(*r));

	if (r == NULL || hashtab_init(&r->t, entry_key, BUCKETS_MIN) < 0) {
		free(r);
		return NULL;
	}
	return r;
}

void
sessions_free(struct sessions *r)
{
	struct hashtab_iter it;
	struct hnode *n;

	if (r == NULL)
		return;
	for (n = hashtab_first(&r->t, &it); n != NULL; n = hashtab_next(&it))
		free(hashtab_entry(n, struct entry, node));
	hashtab_free(&r->t);
	free(r);
}

void
sessions_watch(struct sessions *r, sessions_watch_fn *fn, void *arg)
{
	r->watch = fn;
	r->watch_arg = arg;
}

static void
tell(struct sessions *r, int up, const struct session *s)
{
	if (r->watch != NULL)
		r->watch(r->watch_arg, up, s);
}

struct session *
sessions_get(struct sessions *r, uint64_t id)
{
	struct entry *e = find(r, id);

	return e != NULL ? &e->s : NULL;
}

int
sessions_put(struct sessions *r, const struct session *s)
{
	struct entry *e = find(r, s->id);

	if (e != NULL) {
		e->s = *s;
		return 0;
	}
	if ((e = malloc(sizeof(*e))) == NULL)
		return ERR_NOMEM;
	e->s = *s;
	tell(r, 1, s);
	hashtab_insert(&r->t, &e->node);
	return 0;
}

int
sessions_remove(struct sessions *r, uint64_t id, uint64_t agent_id)
{
	struct entry *e = find(r, id);

	if (e == NULL || e->s.agent_id != agent_id)
		return 0;
	tell(r, 0, &e->s);
	hashtab_remove(&r->t, &e->node);
	free(e);
	return 1;
}

/* Forget agent_id's sessions that are not marked seen (and clear the marks). */
static size_t
sweep_agent(struct sessions *r, uint64_t agent_id)
{
	struct hashtab_iter it;
	struct hnode *n;
	size_t gone = 0;

	for (n = hashtab_first(&r->t, &it); n != NULL; n = hashtab_next(&it)) {
		struct entry *e = hashtab_entry(n, struct entry, node);

		if (e->s.agent_id == agent_id && !e->s.seen) {
			tell(r, 0, &e->s);
			hashtab_remove(&r->t, n);
			free(e);
			gone++;
			continue;
		}
		e->s.seen = 0;
	}
	return gone;
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
	struct hashtab_iter it;
	struct hnode *n;
	size_t count = 0;

	if (agent_id == 0)
		return hashtab_count(&r->t);
	for (n = hashtab_first(&r->t, &it); n != NULL; n = hashtab_next(&it))
		count += hashtab_entry(n, struct entry, node)->s.agent_id == agent_id;
	return count;
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
	struct hashtab_iter it;
	struct hnode *node;
	size_t m = 0, total = hashtab_count(&r->t);

	*n = 0;
	if (total > 0 && (v = malloc(total * sizeof(*v))) == NULL)
		return ERR_NOMEM;
	for (node = hashtab_first(&r->t, &it); node != NULL; node = hashtab_next(&it)) {
		const struct entry *e = hashtab_entry(node, struct entry, node);

		if (e->s.id > after && (f->agent_id == 0 || e->s.agent_id == f->agent_id) &&
		    (f->pssid == NULL || strcmp(e->s.pssid, f->pssid) == 0))
			v[m++] = &e->s;
	}
	if (m > 0)
		qsort(v, m, sizeof(*v), by_id);
	for (size_t i = 0; i < m && *n < limit; i++)
		out[(*n)++] = *v[i];
	free(v);
	return 0;
}
