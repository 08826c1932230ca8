#include <stdlib.h>
#include <string.h>

#include "quic_cid.h"

#define CID_BUCKETS_MIN 256

struct quic_cid_entry {
	struct quic_cid_entry *hnext; /* the bucket chain */
	struct quic_cid_entry *cnext; /* the connection's entries */
	struct quic_conn *c;
	size_t len;
	uint8_t data[NGTCP2_MAX_CIDLEN];
};

int
quic_cid_init(struct quic_cid_table *t)
{
	memset(t, 0, sizeof(*t));
	quic_rand(t->hkey, sizeof(t->hkey));
	t->nbuckets = CID_BUCKETS_MIN;
	if ((t->buckets = calloc(t->nbuckets, sizeof(*t->buckets))) == NULL)
		return -1;
	return 0;
}

void
quic_cid_free(struct quic_cid_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
}

static uint64_t
cid_hash(const struct quic_cid_table *t, const uint8_t *p, size_t len)
{
	return siphash24(t->hkey, p, len);
}

/* Where CID p is, or would go, in its bucket chain. */
static struct quic_cid_entry **
cid_slot(const struct quic_cid_table *t, const uint8_t *p, size_t len)
{
	struct quic_cid_entry **pp = &t->buckets[cid_hash(t, p, len) & (t->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->len == len && memcmp((*pp)->data, p, len) == 0)
			break;
	return pp;
}

struct quic_conn *
quic_cid_lookup(const struct quic_cid_table *t, const uint8_t *p, size_t len)
{
	struct quic_cid_entry *e = *cid_slot(t, p, len);

	return e != NULL ? e->c : NULL;
}

static void
cid_grow(struct quic_cid_table *t)
{
	struct quic_cid_entry **old = t->buckets, *e, *next;
	size_t i, n = t->nbuckets, nn = n * 2;
	struct quic_cid_entry **nb = calloc(nn, sizeof(*nb));

	if (nb == NULL)
		return; /* longer chains, still correct */
	t->buckets = nb;
	t->nbuckets = nn;
	for (i = 0; i < n; i++) {
		for (e = old[i]; e != NULL; e = next) {
			size_t h = cid_hash(t, e->data, e->len) & (nn - 1);

			next = e->hnext;
			e->hnext = nb[h];
			nb[h] = e;
		}
	}
	free(old);
}

int
quic_cid_add(struct quic_cid_table *t, struct quic_conn *c, const uint8_t *p, size_t len)
{
	struct quic_cid_entry **pp, *e;

	if (len > NGTCP2_MAX_CIDLEN)
		return -1;
	pp = cid_slot(t, p, len);
	if (*pp != NULL)
		return (*pp)->c == c ? 0 : -1;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	e->c = c;
	e->len = len;
	memcpy(e->data, p, len);
	*pp = e;
	e->cnext = c->cids;
	c->cids = e;
	if (++t->n > t->nbuckets)
		cid_grow(t);
	return 0;
}

static void
cid_del(struct quic_cid_table *t, struct quic_cid_entry *e)
{
	struct quic_cid_entry **pp = cid_slot(t, e->data, e->len), **cp;

	if (*pp == e)
		*pp = e->hnext;
	for (cp = &e->c->cids; *cp != NULL; cp = &(*cp)->cnext) {
		if (*cp == e) {
			*cp = e->cnext;
			break;
		}
	}
	t->n--;
	free(e);
}

void
quic_cid_retire(struct quic_cid_table *t, struct quic_conn *c, const uint8_t *p, size_t len)
{
	struct quic_cid_entry *e = *cid_slot(t, p, len);

	if (e != NULL && e->c == c)
		cid_del(t, e);
}

void
quic_cid_forget(struct quic_cid_table *t, struct quic_conn *c)
{
	while (c->cids != NULL)
		cid_del(t, c->cids);
}
