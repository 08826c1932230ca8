#include <stdlib.h>
#include <string.h>

#include "quic.h"
#include "quic_sendbuf.h"

struct quic_chunk {
	struct quic_chunk *next;
	size_t len;
	uint8_t data[];
};

struct quic_stream *
quic_sendbuf_find(const struct quic_sendbuf *sb, int64_t id)
{
	struct quic_stream *st;

	for (st = sb->streams; st != NULL; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

struct quic_stream *
quic_sendbuf_open(struct quic_sendbuf *sb, int64_t id)
{
	struct quic_stream *st, **pp;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->id = id;
	for (pp = &sb->streams; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = st;
	return st;
}

static void
drop_data(struct quic_sendbuf *sb, struct quic_stream *st)
{
	struct quic_chunk *ch;

	while ((ch = st->head) != NULL) {
		st->head = ch->next;
		sb->pending -= ch->len;
		free(ch);
	}
	st->tail = NULL;
	st->head_acked = 0;
}

void
quic_sendbuf_close(struct quic_sendbuf *sb, struct quic_stream *st)
{
	struct quic_stream **pp;

	for (pp = &sb->streams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	drop_data(sb, st);
	free(st);
}

void
quic_sendbuf_clear(struct quic_sendbuf *sb)
{
	while (sb->streams != NULL)
		quic_sendbuf_close(sb, sb->streams);
}

int
quic_sendbuf_queue(
    struct quic_sendbuf *sb, struct quic_stream *st, const void *data, size_t len, int fin)
{
	struct quic_chunk *ch;

	if (st->fin || st->shut)
		return QUIC_ERR_STREAM;
	if (len > 0) {
		if (sb->pending + len > QUIC_STREAM_PENDING_MAX)
			return QUIC_ERR_NOMEM;
		if ((ch = malloc(sizeof(*ch) + len)) == NULL)
			return QUIC_ERR_NOMEM;
		ch->next = NULL;
		ch->len = len;
		memcpy(ch->data, data, len);
		if (st->tail != NULL)
			st->tail->next = ch;
		else
			st->head = ch;
		st->tail = ch;
		st->queued += len;
		sb->pending += len;
	}
	if (fin)
		st->fin = 1;
	return QUIC_OK;
}

void
quic_sendbuf_acked(struct quic_sendbuf *sb, struct quic_stream *st, uint64_t datalen)
{
	struct quic_chunk *ch;

	st->acked += datalen;
	st->head_acked += datalen;
	while ((ch = st->head) != NULL && st->head_acked >= ch->len) {
		st->head_acked -= ch->len;
		st->head = ch->next;
		sb->pending -= ch->len;
		free(ch);
	}
	if (st->head == NULL)
		st->tail = NULL;
}

int
quic_sendbuf_has_output(const struct quic_stream *st)
{
	return !st->shut && !st->blocked && (st->sent < st->queued || (st->fin && !st->fin_sent));
}

int
quic_sendbuf_any_output(const struct quic_sendbuf *sb)
{
	const struct quic_stream *st;

	for (st = sb->streams; st != NULL; st = st->next)
		if (quic_sendbuf_has_output(st))
			return 1;
	return 0;
}

size_t
quic_sendbuf_vecs(const struct quic_stream *st, ngtcp2_vec *v, size_t n, uint64_t *total)
{
	const struct quic_chunk *ch;
	uint64_t skip = st->sent - (st->acked - st->head_acked);
	size_t k = 0;

	*total = 0;
	for (ch = st->head; ch != NULL && k < n; ch = ch->next) {
		if (skip >= ch->len) {
			skip -= ch->len;
			continue;
		}
		v[k].base = (uint8_t *)(uintptr_t)(ch->data + skip);
		v[k].len = ch->len - (size_t)skip;
		*total += v[k].len;
		skip = 0;
		k++;
	}
	return k;
}
