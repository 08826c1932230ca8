/* The send sides of a connection's streams (quic_sendbuf.c): the bytes given to
 * quic_stream_send(), kept until the peer acknowledged them, as vectors for ngtcp2's writes.
 * Below the connection core (which embeds one struct quic_sendbuf per connection): it knows
 * ngtcp2's vectors, not connections. */
#ifndef AGENT_QUIC_SENDBUF_H
#define AGENT_QUIC_SENDBUF_H

#include <stddef.h>
#include <stdint.h>

#include <ngtcp2/ngtcp2.h>

#define QUIC_STREAM_PENDING_MAX (64 * 1024) /* unacknowledged stream bytes per connection */

struct quic_chunk; /* stream bytes kept until acknowledged */

/* One stream's send side: chunks hold the bytes from the first unacknowledged one on. The
 * connection core reads and sets the offsets and flags as it writes. */
struct quic_stream {
	struct quic_stream *next;
	int64_t id;
	struct quic_chunk *head, *tail;
	size_t head_acked; /* bytes of head already acknowledged */
	uint64_t queued, sent, acked; /* stream offsets: given to us, given to ngtcp2, acked */
	int fin, fin_sent;
	int shut; /* the send side is gone (peer STOP_SENDING, reset): nothing more goes out */
	int blocked; /* flow control stopped it in this write pass */
};

/* The streams of one connection, zeroed to start. */
struct quic_sendbuf {
	struct quic_stream *streams; /* in opening order */
	size_t pending; /* unacknowledged bytes of all of them */
};

/* The stream id, or NULL. */
struct quic_stream *quic_sendbuf_find(const struct quic_sendbuf *sb, int64_t id);

/* A new stream id, last in order; NULL when out of memory. */
struct quic_stream *quic_sendbuf_open(struct quic_sendbuf *sb, int64_t id);

/* Forget st and the bytes it holds. */
void quic_sendbuf_close(struct quic_sendbuf *sb, struct quic_stream *st);

/* Forget every stream. */
void quic_sendbuf_clear(struct quic_sendbuf *sb);

/* Queue len bytes on st (copied), then FIN it when fin is 1. 0, QUIC_ERR_STREAM (st is finished
 * or shut) or QUIC_ERR_NOMEM (QUIC_STREAM_PENDING_MAX would be passed, or out of memory). */
int quic_sendbuf_queue(
    struct quic_sendbuf *sb, struct quic_stream *st, const void *data, size_t len, int fin);

/* The peer acknowledged datalen more bytes of st: free the chunks wholly acknowledged. */
void quic_sendbuf_acked(struct quic_sendbuf *sb, struct quic_stream *st, uint64_t datalen);

/* Whether st has bytes or a FIN to write now (not shut, not blocked in this pass). */
int quic_sendbuf_has_output(const struct quic_stream *st);

/* Whether any stream of sb has. */
int quic_sendbuf_any_output(const struct quic_sendbuf *sb);

/* The unsent bytes of st as at most n vectors into v; their total into *total. Returns how
 * many vectors. */
size_t quic_sendbuf_vecs(const struct quic_stream *st, ngtcp2_vec *v, size_t n, uint64_t *total);

#endif
