/* What happened to a gateway's tunnels, as counts since the agent started: tunnels that
 * completed the snaptun handshake (renew, then assign: proto/README.md §1.4), connections that
 * ended before it, and established sessions closed, both by the QUIC application close code that
 * ended them. The agent counts them (agent/tunnel.c), reports them in STATS (State.TunnelEvents)
 * and serves them on its metrics listener; the manager adds up every agent's. Copied by
 * assignment. */
#ifndef LIB_TUNEVENTS_H
#define LIB_TUNEVENTS_H

#include <stdint.h>

/* Close codes 0..5 of the tunnel protocol, then one for every other end: the idle timeout, a
 * transport error, a code outside the protocol's. */
#define TUNEVENTS_CODES 6
#define TUNEVENTS_CLOSE_OTHER TUNEVENTS_CODES
#define TUNEVENTS_CLOSES (TUNEVENTS_CODES + 1)

struct tunevents {
	uint64_t handshakes; /* tunnels established */
	/* Connections that ended before that, by close code (1 unauthorized, 2 timeout, …). */
	uint64_t handshake_failures[TUNEVENTS_CLOSES];
	uint64_t closes[TUNEVENTS_CLOSES]; /* established sessions ended, by close code */
};

/* "0" .. "5" and "other", by index of closes[]. */
extern const char *const tunevents_close_names[TUNEVENTS_CLOSES];

/* The closes[] index of an application close code. */
static inline unsigned
tunevents_close_index(uint64_t code)
{
	return code < TUNEVENTS_CODES ? (unsigned)code : TUNEVENTS_CLOSE_OTHER;
}

/* All the handshake failures of e, whatever their code. */
uint64_t tunevents_handshake_failures(const struct tunevents *e);

/* Add every count of src to dst's. */
void tunevents_add(struct tunevents *dst, const struct tunevents *src);

#endif
