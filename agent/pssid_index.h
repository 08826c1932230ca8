/* An index from pssid to the one object that holds it now (the tunnel layer: the live tunnel of
 * each pssid): a lib/hashtab table of string keys (SipHash under a random key, since pssids are
 * the token issuer's choice). Entries are embedded in their owners (no allocation per entry). */
#ifndef AGENT_PSSID_INDEX_H
#define AGENT_PSSID_INDEX_H

#include <stddef.h>

#include "../lib/hashtab.h"

/* Embedded in the owner; set pssid and owner before pssid_index_add(). */
struct pssid_entry {
	struct hnode node; /* the index's */
	const char *pssid; /* NUL-terminated, unchanged while indexed */
	void *owner; /* what pssid_index_find() returns */
};

struct pssid_index;

/* An empty index, or NULL when out of memory (or of randomness). Free with pssid_index_free()
 * (NULL is fine); the entries are their owners'. */
struct pssid_index *pssid_index_new(void);
void pssid_index_free(struct pssid_index *ix);

/* The owner indexed under pssid, or NULL. */
void *pssid_index_find(const struct pssid_index *ix, const char *pssid);

/* Index e under e->pssid (no other entry is there). 0: the table grows as needed, or lengthens
 * its chains when memory is short, so adding never fails. */
int pssid_index_add(struct pssid_index *ix, struct pssid_entry *e);

/* Remove e if it is indexed (a no-op otherwise). */
void pssid_index_del(struct pssid_index *ix, struct pssid_entry *e);

#endif
