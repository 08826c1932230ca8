/* A tunnel's traffic counters: what the data plane counts per client, what the agent sums over
 * ended sessions and reports on the state channel (State.Counters), and what the manager keeps
 * per live session. One struct for all of them; it is copied by assignment.
 *
 * Drops are counted by reason, under the names every report uses (STATS, GET /v1/sessions,
 * GET /v1/agents): counters_drop_names[]. dropped_packets is their sum. */
#ifndef LIB_COUNTERS_H
#define LIB_COUNTERS_H

#include <stdint.h>

/* Why a packet was dropped. The order is the order of State.Counters fields 6.. (add only). */
enum counters_drop {
	COUNTERS_DROP_MALFORMED, /* not a packet of the mode with consistent lengths */
	COUNTERS_DROP_SPOOFED, /* source address not the tunnel's assigned address */
	COUNTERS_DROP_NO_ROUTE, /* nowhere to send it (no tunnel owns it, no TUN device) */
	COUNTERS_DROP_TOO_BIG, /* over the destination tunnel's datagram room (ICMP answered) */
	COUNTERS_DROP_BLOCKED, /* the destination (tunnel, TUN device) could not take it now */
	COUNTERS_DROP_UNASSIGNED, /* from a tunnel without an address */
	COUNTERS_DROP_TTL_EXCEEDED, /* TTL / hop limit ran out here (ICMP answered) */
	COUNTERS_DROP_ISOLATED, /* client to client in a pool that forbids it, no TUN device */
	COUNTERS_DROP_NO_TUNNEL, /* scion mode: from the underlay, for a host no tunnel owns */
	COUNTERS_DROP_N
};

/* "malformed", "spoofed", "no_route", "too_big", "blocked", "unassigned", "ttl_exceeded",
 * "isolated", "no_tunnel", by enum counters_drop. */
extern const char *const counters_drop_names[COUNTERS_DROP_N];

struct counters {
	uint64_t rx_packets, rx_bytes; /* from the client into the network */
	uint64_t tx_packets, tx_bytes; /* from the network to the client */
	uint64_t dropped_packets; /* packets of this client dropped: the sum of drops[] */
	uint64_t drops[COUNTERS_DROP_N]; /* by reason */
};

/* Count one drop of reason why (dropped_packets too). */
static inline void
counters_drop(struct counters *c, enum counters_drop why)
{
	c->drops[why]++;
	c->dropped_packets++;
}

/* Add every counter of src to dst's (wrapping modulo 2^64, as the counters themselves do). */
void counters_add(struct counters *dst, const struct counters *src);

#endif
