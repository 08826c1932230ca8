/* A tunnel's traffic counters: what the data plane counts per client, what the agent sums over
 * ended sessions and reports on the state channel (State.Counters), and what the manager keeps
 * per live session. One struct for all of them; it is copied by assignment. */
#ifndef LIB_COUNTERS_H
#define LIB_COUNTERS_H

#include <stdint.h>

struct counters {
	uint64_t rx_packets, rx_bytes; /* from the client into the network */
	uint64_t tx_packets, tx_bytes; /* from the network to the client */
	uint64_t dropped_packets; /* packets of this client dropped (spoofed, no route, ...) */
};

/* Add every counter of src to dst's (wrapping modulo 2^64, as the counters themselves do). */
void counters_add(struct counters *dst, const struct counters *src);

#endif
