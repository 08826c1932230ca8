/* The control requests in progress on one tunnel connection (proto/README.md §1.2): each on its own
 * stream, its bytes kept until the stream ends and the request parses (proto/ctrl.h), then until
 * it is answered and the peer's side has ended. At most CTRL_STREAMS_MAX at once: a client that
 * opens more is misbehaving. */
#ifndef AGENT_CTRL_STREAMS_H
#define AGENT_CTRL_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/ctrl.h"

#define CTRL_STREAMS_MAX 4

struct ctrl_stream;

/* The streams of one connection, embedded in it. */
struct ctrl_streams {
	struct ctrl_stream *s[CTRL_STREAMS_MAX];
};

/* What ctrl_streams_feed() found. */
enum ctrl_streams_ev {
	CTRL_STREAMS_WAIT = 0, /* nothing to do (more bytes to come, or answered already) */
	CTRL_STREAMS_READY = 1, /* a request to handle: see *rv */
	CTRL_STREAMS_FULL = -1, /* a new stream, but CTRL_STREAMS_MAX are in progress */
	CTRL_STREAMS_NOMEM = -2,
};

/* Empty, in the caller's storage; ctrl_streams_free() frees what the streams hold. */
void ctrl_streams_init(struct ctrl_streams *cs);
void ctrl_streams_free(struct ctrl_streams *cs);

/* Take len bytes of stream id, fin 1 when the peer's side ended. CTRL_STREAMS_READY once the
 * stream holds a whole request (*rv CTRL_OK, *req filled, pointing into the stream's bytes until
 * it is answered or dropped) or bytes that will never be one (*rv the ctrl_parse() error). A
 * stream beyond CTRL_MSG_MAX + 1 bytes keeps only those (the parser calls it too big). */
int ctrl_streams_feed(struct ctrl_streams *cs, int64_t id, const uint8_t *data, size_t len, int fin,
    int *rv, struct ctrl_req *req);

/* Stream id was answered: forgotten when its request has ended, else when it ends. */
void ctrl_streams_answered(struct ctrl_streams *cs, int64_t id);

/* Stream id: 1 while its request waits for an answer, 0 answered, -1 not in progress. */
int ctrl_streams_waiting(const struct ctrl_streams *cs, int64_t id);

/* Forget stream id (reset by the peer). */
void ctrl_streams_drop(struct ctrl_streams *cs, int64_t id);

#endif
