/* One state-channel connection's buffers (proto/README.md §2.1), the same on both ends (the
 * manager's agentlink, the agent's link): the bounded queue of sealed frames waiting for the
 * transport (chanio.h: the UNIX socket or TLS), and the decoder of what comes in.
 *
 * Output: chanbuf_put() seals a message into a frame (our node id, the next seq, the MAC) at the
 * end of the queue, or refuses it when the queue would grow over its bound: a peer that does not
 * read is dropped by the owner, never buffered for without end. chanbuf_write() writes as much as
 * the socket takes. The owner asks for EPOLLOUT only while the queue is non-empty: after each
 * chanbuf_write() the want_write callback says so whenever that changes (a frame put is only
 * written by the next chanbuf_write(), which the owner calls at once or at the end of its turn).
 *
 * Input: chanbuf_read() reads what the socket has and hands each complete, verified frame to the
 * owner (chan.h: version, type, length, MAC, sender, replay window); any error is final and the
 * owner drops the connection.
 *
 * Errors: 0 or a negative enum chanbuf_err, or a negative enum chan_err (chan.h) from the framing;
 * chanbuf_err_str() names both. */
#ifndef PROTO_CHANBUF_H
#define PROTO_CHANBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"

#define CHANBUF_READ_CHUNK 65536 /* bytes asked of read() at a time */

enum chanbuf_err {
	CHANBUF_FULL = -100, /* chanbuf_put(): the frame would take the queue over its bound */
	CHANBUF_NOMEM = -101, /* out of memory for the queue */
	CHANBUF_CLOSED = -102, /* chanbuf_read(): the peer closed its end */
	CHANBUF_IO = -103, /* a read or write failed: chanio_error() says why */
};

struct chanbuf_config {
	const unsigned char *key; /* the channel key, CHAN_KEY_LEN bytes (copied) */
	uint64_t self; /* our node id: the from_node_id we send (CHAN_NODE_MANAGER: the manager) */
	uint64_t peer; /* the peer's node id, or CHAN_PEER_ANY (chan_dec_new()) */
	size_t max; /* bytes queued beyond which chanbuf_put() refuses a frame */
	/* The queue became non-empty (on 1) or empty (on 0) at the end of a chanbuf_write(): ask
	 * the loop for EPOLLOUT or stop asking. NULL: not told. */
	void (*want_write)(void *arg, int on);
	void *arg;
};

/* A verified frame for the owner (chan.h: payload valid during the call only). Return 0 to go
 * on, non-zero to stop reading at once (the owner drops the connection; the bytes after that
 * frame are not looked at). The callback must not free the chanbuf. */
typedef int (*chanbuf_frame_fn)(void *arg, const struct chan_frame *f);

struct chanbuf;
struct chanio;

/* Buffers for one connection, starting at seq 1 both ways and with nothing queued (EPOLLOUT not
 * wanted). NULL when out of memory. Free with chanbuf_free() (NULL is fine), which wipes the key
 * and drops what is queued. */
struct chanbuf *chanbuf_new(const struct chanbuf_config *cfg);
void chanbuf_free(struct chanbuf *b);

/* Seal msg (the message of type; the caller keeps it) with correlation id corr at the end of the
 * queue. 0; CHANBUF_FULL when the queued bytes and this frame would be over the bound (nothing is
 * queued); CHANBUF_NOMEM; or the negative enum chan_err of chan_frame_pack() (a message over
 * CHAN_PAYLOAD_MAX: CHAN_ERR_LENGTH). Nothing is written here. */
int chanbuf_put(struct chanbuf *b, enum chan_msg type, uint64_t corr, const ProtobufCMessage *msg);

/* The seq of the last frame put: 0 before the first. A request's correlation id is its seq. */
uint64_t chanbuf_seq(const struct chanbuf *b);

/* Write the queue to the transport io (chanio.h) until it is empty, io takes no more
 * (CHANIO_AGAIN) or max bytes went (SIZE_MAX: no limit; a fairness budget otherwise; 0 writes
 * nothing). Returns the bytes written, or CHANBUF_IO (the connection is broken: chanio_error()). Then tells want_write
 * if the queue's emptiness changed since it last did (with max 0 that is all it does: after
 * frames were put that will not be written now). */
ssize_t chanbuf_write(struct chanbuf *b, struct chanio *io, size_t max);

/* Bytes queued now, and the most ever queued. */
size_t chanbuf_queued(const struct chanbuf *b);
size_t chanbuf_peak(const struct chanbuf *b);

/* Read from the transport io until it has no more (CHANIO_AGAIN), at least max bytes came (a
 * fairness budget; SIZE_MAX: no limit; bytes TLS holds decrypted are taken even past it) or fn
 * asked to stop; each verified frame goes to fn on the way. Returns the bytes read, or
 * CHANBUF_CLOSED (end of stream), CHANBUF_IO (chanio_error()) or the negative
 * enum chan_err of the first bad frame (bad MAC, replay, oversized, …: a protocol error). Every
 * error is final: drop the connection. */
ssize_t chanbuf_read(
    struct chanbuf *b, struct chanio *io, size_t max, chanbuf_frame_fn fn, void *arg);

/* The text of a negative enum chanbuf_err or enum chan_err. */
const char *chanbuf_err_str(int err);

#endif
