#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "secret.h"

#define HASHTAB_MIN 16

static uint64_t
hash_bytes(const struct hashtab *t, const void *key, size_t len)
{
	return siphash24(t->key, key, len);
}

/* Whether the len bytes at a and b are equal. Keys are short (addresses, connection IDs,
 * pssids) and found on the per-packet path: compared in place, a word at a time, rather than
 * through a call to memcmp. */
static inline int
key_eq(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	uint64_t u, v;

	for (; len >= 8; x += 8, y += 8, len -= 8) {
		memcpy(&u, x, 8);
		memcpy(&v, y, 8);
		if (u != v)
			return 0;
	}
	for (; len > 0; len--)
		if (*x++ != *y++)
			return 0;
	return 1;
}

static size_t
bucket_of(const struct hashtab *t, uint64_t hash)
{
	return (size_t)hash & (t->nbuckets - 1);
}

int
hashtab_init(struct hashtab *t, hashtab_key_fn *key_of, size_t hint)
{
	size_t n = HASHTAB_MIN;
	int rv = -1;

	memset(t, 0, sizeof(*t));
	while (n < hint && n <= SIZE_MAX / 2 / sizeof(*t->buckets))
		n <<= 1;
	if (secret_random(t->key, sizeof(t->key)) < 0)
		goto out;
	if ((t->buckets = calloc(n, sizeof(*t->buckets))) == NULL)
		goto out;
	t->nbuckets = n;
	t->key_of = key_of;
	rv = 0;
out:
	return rv;
}

void
hashtab_free(struct hashtab *t)
{
	if (t == NULL)
		return;
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = 0;
	explicit_bzero(t->key, sizeof(t->key));
}

struct hnode *
hashtab_find(const struct hashtab *t, const void *key, size_t len)
{
	uint64_t h = hash_bytes(t, key, len);
	const void *k;
	size_t klen;

	for (struct hnode *n = t->buckets[bucket_of(t, h)]; n != NULL; n = n->next) {
		if (n->hash != h)
			continue;
		k = t->key_of(n, &klen);
		if (klen == len && key_eq(k, key, len))
			return n;
	}
	return NULL;
}

/* Double the buckets, moving every entry by its stored hash (no key is read again). On a
 * shortage of memory the table stays as it is. */
static void
grow(struct hashtab *t)
{
	size_t oldn = t->nbuckets, nn = oldn * 2;
	struct hnode **old = t->buckets, **nb, *n, *next;

	if (oldn > SIZE_MAX / 2 / sizeof(*nb) || (nb = calloc(nn, sizeof(*nb))) == NULL)
		return;
	t->buckets = nb;
	t->nbuckets = nn;
	for (size_t i = 0; i < oldn; i++) {
		for (n = old[i]; n != NULL; n = next) {
			size_t b = bucket_of(t, n->hash);

			next = n->next;
			n->next = nb[b];
			nb[b] = n;
		}
	}
	free(old);
}

void
hashtab_insert(struct hashtab *t, struct hnode *n)
{
	const void *k;
	size_t len, b;

	k = t->key_of(n, &len);
	n->hash = hash_bytes(t, k, len);
	if (t->count >= t->nbuckets)
		grow(t);
	b = bucket_of(t, n->hash);
	n->next = t->buckets[b];
	t->buckets[b] = n;
	t->count++;
}

void
hashtab_remove(struct hashtab *t, struct hnode *n)
{
	struct hnode **pp = &t->buckets[bucket_of(t, n->hash)];

	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	n->next = NULL;
	t->count--;
}

size_t
hashtab_count(const struct hashtab *t)
{
	return t->count;
}

/* The first entry from bucket it->bucket on, or NULL; it->next is the one after it. */
static struct hnode *
iter_scan(struct hashtab_iter *it)
{
	const struct hashtab *t = it->t;
	struct hnode *n;

	for (; it->bucket < t->nbuckets; it->bucket++) {
		if ((n = t->buckets[it->bucket]) != NULL) {
			it->next = n->next;
			if (it->next == NULL)
				it->bucket++;
			return n;
		}
	}
	return NULL;
}

struct hnode *
hashtab_first(const struct hashtab *t, struct hashtab_iter *it)
{
	it->t = t;
	it->bucket = 0;
	it->next = NULL;
	return iter_scan(it);
}

struct hnode *
hashtab_next(struct hashtab_iter *it)
{
	struct hnode *n = it->next;

	if (n == NULL)
		return iter_scan(it);
	it->next = n->next;
	if (it->next == NULL)
		it->bucket++;
	return n;
}
