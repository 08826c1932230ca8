/* The shared hash table: many keys through several doublings, keys of different lengths,
 * removal in any order, removal of the current entry while iterating, a pre-sized table that
 * never grows, duplicates, a key of its own per table, and keys of every length up to 23. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/hashtab.h"
#include "check.h"

#define N 100000

struct item {
	struct hnode node;
	size_t len;
	char key[24];
	int seen;
};

static const void *
item_key(const struct hnode *n, size_t *len)
{
	const struct item *it = hashtab_centry(n, struct item, node);

	*len = it->len;
	return it->key;
}

static void
item_set(struct item *it, const char *fmt, unsigned i)
{
	memset(it, 0, sizeof(*it));
	it->len = (size_t)snprintf(it->key, sizeof(it->key), fmt, i);
}

static struct item *
find(const struct hashtab *t, const char *key, size_t len)
{
	struct hnode *n = hashtab_find(t, key, len);

	return n != NULL ? hashtab_entry(n, struct item, node) : NULL;
}

static void
test_many(void)
{
	struct hashtab t;
	struct hashtab_iter it;
	struct item *items = calloc(N, sizeof(*items));
	struct hnode *n;
	char key[24];
	size_t len, visited = 0, dup = 0, missing = 0, wrong = 0;

	CHECK(hashtab_init(&t, item_key, 0) == 0 && hashtab_count(&t) == 0, "a new table");
	for (unsigned i = 0; i < N; i++) {
		item_set(&items[i], "key-%u", i);
		hashtab_insert(&t, &items[i].node);
	}
	CHECK_EQ_INT(hashtab_count(&t), N, "%d keys are in", N);
	CHECK(t.nbuckets >= N && t.nbuckets < 4 * (size_t)N,
	    "it doubled as it filled: %zu buckets for %d keys", t.nbuckets, N);
	for (unsigned i = 0; i < N; i++) {
		len = (size_t)snprintf(key, sizeof(key), "key-%u", i);
		if (find(&t, key, len) != &items[i])
			missing++;
	}
	CHECK_EQ_INT(missing, 0, "every key is found after the growth");
	CHECK(
	    find(&t, "key-", 4) == NULL && find(&t, "key-1x", 6) == NULL && find(&t, "", 0) == NULL,
	    "keys never inserted are not found");
	/* "key-1" and "key-10" share a prefix; the lengths tell them apart */
	CHECK(find(&t, "key-10", 5) == &items[1], "a key is its bytes and its length");

	for (n = hashtab_first(&t, &it); n != NULL; n = hashtab_next(&it)) {
		struct item *e = hashtab_entry(n, struct item, node);

		if (e->seen++)
			dup++;
		visited++;
	}
	CHECK(visited == N && dup == 0, "iteration visits each entry once (%zu, %zu twice)",
	    visited, dup);

	/* remove every odd entry while walking, the current one each time */
	for (n = hashtab_first(&t, &it); n != NULL; n = hashtab_next(&it)) {
		struct item *e = hashtab_entry(n, struct item, node);

		e->seen = 0;
		if ((e - items) % 2 == 1) {
			hashtab_remove(&t, n);
			memset(e, 0xa5, sizeof(*e)); /* as if freed */
		}
	}
	CHECK_EQ_INT(hashtab_count(&t), N / 2, "removing while iterating leaves the even half");
	for (unsigned i = 0; i < N; i++) {
		len = (size_t)snprintf(key, sizeof(key), "key-%u", i);
		if (find(&t, key, len) != (i % 2 ? NULL : &items[i]))
			wrong++;
	}
	CHECK_EQ_INT(wrong, 0, "the odd keys are gone, the even ones found");
	hashtab_free(&t);
	free(items);
}

static void
test_remove_any_order(void)
{
	struct hashtab t;
	struct item items[64];
	unsigned order[64], wrong = 0;
	char key[24];
	size_t len;

	/* 16 buckets and 64 entries before growth lengthen the chains: heads, middles and
	 * tails are all removed below */
	hashtab_init(&t, item_key, 0);
	for (unsigned i = 0; i < 64; i++) {
		item_set(&items[i], "%u", i);
		hashtab_insert(&t, &items[i].node);
		order[i] = i;
	}
	srand(7);
	for (unsigned i = 63; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (unsigned k = 0; k < 64; k++) {
		hashtab_remove(&t, &items[order[k]].node);
		for (unsigned i = 0; i < 64; i++) {
			int gone = 0;

			for (unsigned m = 0; m <= k; m++)
				gone |= order[m] == i;
			len = (size_t)snprintf(key, sizeof(key), "%u", i);
			if (find(&t, key, len) != (gone ? NULL : &items[i]))
				wrong++;
		}
	}
	CHECK(wrong == 0 && hashtab_count(&t) == 0,
	    "removals in random order keep every other entry findable");
	hashtab_free(&t);
}

static void
test_sized_dup_keys(void)
{
	struct hashtab a, b;
	struct item items[1000], x, y;
	struct hnode **buckets;
	struct hashtab_iter it;

	CHECK(hashtab_init(&a, item_key, 1000) == 0, "a table for 1000 entries");
	CHECK(a.nbuckets >= 1000 && a.nbuckets < 2048, "a hint of 1000 gives %zu buckets",
	    a.nbuckets);
	buckets = a.buckets;
	for (unsigned i = 0; i < 1000; i++) {
		item_set(&items[i], "%u", i);
		hashtab_insert(&a, &items[i].node);
	}
	CHECK(a.buckets == buckets, "a table within its hint never grows");

	hashtab_init(&b, item_key, 0);
	CHECK(memcmp(a.key, b.key, sizeof(a.key)) != 0, "each table draws its own hash key");
	CHECK(hashtab_first(&b, &it) == NULL, "an empty table has nothing to iterate");
	item_set(&x, "same", 0);
	item_set(&y, "same", 0);
	hashtab_insert(&b, &x.node);
	hashtab_insert(&b, &y.node);
	CHECK(find(&b, "same", 4) == &y, "with a key twice, the one inserted last is found");
	hashtab_remove(&b, &y.node);
	CHECK(find(&b, "same", 4) == &x, "and the first again once it is removed");
	hashtab_free(&a);
	hashtab_free(&b);
	hashtab_free(NULL);
}

/* Keys of every length up to 23 bytes, each a prefix of the next: whole words, a tail of 1 to 7
 * bytes, or both are compared. */
static void
test_key_lengths(void)
{
	static const char abc[] = "abcdefghijklmnopqrstuvw";
	struct hashtab t;
	struct item items[sizeof(abc) - 1];
	char key[24];
	unsigned wrong = 0;

	hashtab_init(&t, item_key, 0);
	for (size_t i = 0; i < sizeof(abc) - 1; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		memcpy(items[i].key, abc, i + 1);
		items[i].len = i + 1;
		hashtab_insert(&t, &items[i].node);
	}
	for (size_t i = 0; i < sizeof(abc) - 1; i++) {
		memcpy(key, abc, i + 1);
		if (find(&t, key, i + 1) != &items[i])
			wrong++;
		key[i] = 'X';
		if (find(&t, key, i + 1) != NULL)
			wrong++;
	}
	CHECK_EQ_INT(wrong, 0, "keys of 1 to 23 bytes are found by their bytes and length");
	hashtab_free(&t);
}

int
main(void)
{
	test_many();
	test_remove_any_order();
	test_sized_dup_keys();
	test_key_lengths();
	return check_done();
}
