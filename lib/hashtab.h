/* One hash table for every index of the programs: intrusive (each entry embeds a struct hnode,
 * so an insert allocates nothing beyond the table's own growth), chained, doubled when it holds
 * more entries than buckets. Keys are bytes that the table reads through the owner's key_of
 * callback; they are hashed with SipHash-2-4 under a random key drawn per table, since most keys
 * (addresses, connection IDs, pssids) are chosen by outsiders.
 *
 *	struct route { struct hnode node; struct addr a; };
 *	static const void *route_key(const struct hnode *n, size_t *len) {
 *		const struct route *r = hashtab_centry(n, struct route, node);
 *		*len = r->a.family == 4 ? 4 : 16;
 *		return r->a.b;
 *	}
 */
#ifndef LIB_HASHTAB_H
#define LIB_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

#include "siphash.h"

/* The entry that holds the node n, a member called member of type; hashtab_centry for a
 * const node (in a key_of callback). */
#define hashtab_entry(n, type, member) ((type *)(void *)((char *)(n)-offsetof(type, member)))
#define hashtab_centry(n, type, member) \
	((const type *)(const void *)((const char *)(n)-offsetof(type, member)))

/* Embedded in each entry; the table owns both fields while the entry is in it. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

/* The key of the entry holding n: a pointer to its bytes (valid while the entry is in the
 * table, unchanged) and their number in *len. */
typedef const void *hashtab_key_fn(const struct hnode *n, size_t *len);

/* The caller's storage; the fields are the table's. */
struct hashtab {
	struct hnode **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	hashtab_key_fn *key_of;
	unsigned char key[SIPHASH_KEY_LEN];
};

/* Walks a table: see hashtab_first. */
struct hashtab_iter {
	const struct hashtab *t;
	size_t bucket;
	struct hnode *next;
};

/* An empty table in t reading keys through key_of, with at least hint buckets (so a table that
 * never holds more than hint entries never grows; 0 picks a small default). 0, or -1 when
 * memory or randomness for the hash key is short. Free with hashtab_free. */
int hashtab_init(struct hashtab *t, hashtab_key_fn *key_of, size_t hint);

/* Free the table's buckets (t may be NULL, or all zero); the entries stay the caller's. */
void hashtab_free(struct hashtab *t);

/* The entry with the len bytes at key, or NULL. With several (see hashtab_insert), the one
 * inserted last. */
struct hnode *hashtab_find(const struct hashtab *t, const void *key, size_t len);

/* Add the entry of n, which must not be in a table. A key already present is not checked for
 * (find it first when keys are unique). When the table is full (more entries than buckets) it
 * doubles; if memory for that is short it stays as it is, with longer chains, still correct:
 * inserting never fails. */
void hashtab_insert(struct hashtab *t, struct hnode *n);

/* Take the entry of n, which must be in t, out of it. */
void hashtab_remove(struct hashtab *t, struct hnode *n);

size_t hashtab_count(const struct hashtab *t);

/* Iterate: for (n = hashtab_first(t, &it); n != NULL; n = hashtab_next(&it)). While iterating,
 * the entry just returned may be removed (and freed); nothing may be inserted. Order is
 * arbitrary. */
struct hnode *hashtab_first(const struct hashtab *t, struct hashtab_iter *it);
struct hnode *hashtab_next(struct hashtab_iter *it);

#endif
