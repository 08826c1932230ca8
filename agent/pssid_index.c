#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "../lib/secret.h"
#include "../lib/siphash.h"
#include "pssid_index.h"

#define PSSID_INDEX_MIN 256 /* buckets at first; always a power of two */

struct pssid_index {
	struct pssid_entry **buckets;
	size_t n, cap;
	unsigned char hkey[SIPHASH_KEY_LEN];
};

struct pssid_index *
pssid_index_new(void)
{
	struct pssid_index *ix;

	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return NULL;
	ix->cap = PSSID_INDEX_MIN;
	if (secret_random(ix->hkey, sizeof(ix->hkey)) < 0 ||
	    (ix->buckets = calloc(ix->cap, sizeof(*ix->buckets))) == NULL) {
		pssid_index_free(ix);
		return NULL;
	}
	return ix;
}

void
pssid_index_free(struct pssid_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->buckets);
	free(ix);
}

static size_t
bucket_of(const struct pssid_index *ix, const char *pssid)
{
	return (size_t)siphash24(ix->hkey, pssid, strlen(pssid)) & (ix->cap - 1);
}

void *
pssid_index_find(const struct pssid_index *ix, const char *pssid)
{
	for (struct pssid_entry *e = ix->buckets[bucket_of(ix, pssid)]; e != NULL; e = e->next)
		if (strcmp(e->pssid, pssid) == 0)
			return e->owner;
	return NULL;
}

void
pssid_index_del(struct pssid_index *ix, struct pssid_entry *e)
{
	for (struct pssid_entry **pp = &ix->buckets[bucket_of(ix, e->pssid)]; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			e->next = NULL;
			ix->n--;
			return;
		}
	}
}

/* Double the buckets when there are as many entries. 0 or ERR_NOMEM. */
static int
grow(struct pssid_index *ix)
{
	struct pssid_entry **old = ix->buckets, *e, *next;
	size_t oldcap = ix->cap, b;

	if (ix->n < ix->cap)
		return 0;
	if ((ix->buckets = calloc(oldcap * 2, sizeof(*ix->buckets))) == NULL) {
		ix->buckets = old;
		return ERR_NOMEM;
	}
	ix->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			b = bucket_of(ix, e->pssid);
			e->next = ix->buckets[b];
			ix->buckets[b] = e;
		}
	}
	free(old);
	return 0;
}

int
pssid_index_add(struct pssid_index *ix, struct pssid_entry *e)
{
	size_t b;

	if (grow(ix) < 0)
		return ERR_NOMEM;
	b = bucket_of(ix, e->pssid);
	e->next = ix->buckets[b];
	ix->buckets[b] = e;
	ix->n++;
	return 0;
}
