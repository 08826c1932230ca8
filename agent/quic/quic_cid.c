#include <stdlib.h>
#include <string.h>

#include "quic_cid.h"

#define CID_BUCKETS_MIN 256

struct quic_cid_entry {
	struct hnode node; /* the table's */
	struct quic_cid_entry *cnext; /* the connection's entries */
	struct quic_conn *c;
	size_t len;
	uint8_t data[NGTCP2_MAX_CIDLEN];
};

static const void *
cid_key(const struct hnode *n, size_t *len)
{
	const struct quic_cid_entry *e = hashtab_centry(n, struct quic_cid_entry, node);

	*len = e->len;
	return e->data;
}

int
quic_cid_init(struct quic_cid_table *t)
{
	return hashtab_init(&t->t, cid_key, CID_BUCKETS_MIN);
}

void
quic_cid_free(struct quic_cid_table *t)
{
	hashtab_free(&t->t);
}

static struct quic_cid_entry *
cid_find(const struct quic_cid_table *t, const uint8_t *p, size_t len)
{
	struct hnode *n = hashtab_find(&t->t, p, len);

	return n != NULL ? hashtab_entry(n, struct quic_cid_entry, node) : NULL;
}

struct quic_conn *
quic_cid_lookup(const struct quic_cid_table *t, const uint8_t *p, size_t len)
{
	struct quic_cid_entry *e = cid_find(t, p, len);

	return e != NULL ? e->c : NULL;
}

int
quic_cid_add(struct quic_cid_table *t, struct quic_conn *c, const uint8_t *p, size_t len)
{
	struct quic_cid_entry *e;

	if (len > NGTCP2_MAX_CIDLEN)
		return -1;
	if ((e = cid_find(t, p, len)) != NULL)
		return e->c == c ? 0 : -1;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	e->c = c;
	e->len = len;
	memcpy(e->data, p, len);
	hashtab_insert(&t->t, &e->node);
	e->cnext = c->cids;
	c->cids = e;
	return 0;
}

static void
cid_del(struct quic_cid_table *t, struct quic_cid_entry *e)
{
	struct quic_cid_entry **cp;

	hashtab_remove(&t->t, &e->node);
	for (cp = &e->c->cids; *cp != NULL; cp = &(*cp)->cnext) {
		if (*cp == e) {
			*cp = e->cnext;
			break;
		}
	}
	free(e);
}

void
quic_cid_retire(struct quic_cid_table *t, struct quic_conn *c, const uint8_t *p, size_t len)
{
	struct quic_cid_entry *e = cid_find(t, p, len);

	if (e != NULL && e->c == c)
		cid_del(t, e);
}

void
quic_cid_forget(struct quic_cid_table *t, struct quic_conn *c)
{
	while (c->cids != NULL)
		cid_del(t, c->cids);
}
