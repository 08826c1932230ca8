#include <stdlib.h>
#include <string.h>

#include "pssid_index.h"

#define PSSID_INDEX_MIN 256 /* buckets at first */

struct pssid_index {
	struct hashtab t;
};

static const void *
entry_key(const struct hnode *n, size_t *len)
{
	const struct pssid_entry *e = hashtab_centry(n, struct pssid_entry, node);

	*len = strlen(e->pssid);
	return e->pssid;
}

struct pssid_index *
pssid_index_new(void)
{
	struct pssid_index *ix;

	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return NULL;
	if (hashtab_init(&ix->t, entry_key, PSSID_INDEX_MIN) < 0) {
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
	hashtab_free(&ix->t);
	free(ix);
}

static struct pssid_entry *
find(const struct pssid_index *ix, const char *pssid)
{
	struct hnode *n = hashtab_find(&ix->t, pssid, strlen(pssid));

	return n != NULL ? hashtab_entry(n, struct pssid_entry, node) : NULL;
}

void *
pssid_index_find(const struct pssid_index *ix, const char *pssid)
{
	struct pssid_entry *e = find(ix, pssid);

	return e != NULL ? e->owner : NULL;
}

void
pssid_index_del(struct pssid_index *ix, struct pssid_entry *e)
{
	/* A pssid is indexed once at most: e is in the index if its pssid leads to it. */
	if (find(ix, e->pssid) == e)
		hashtab_remove(&ix->t, &e->node);
}

int
pssid_index_add(struct pssid_index *ix, struct pssid_entry *e)
{
	hashtab_insert(&ix->t, &e->node);
	return 0;
}
