/* The agent's data plane in ip mode (PROTOCOL.md §1.6): every datagram a client sends is one
 * IPv4/IPv6 packet. Uplink: the source address must be the tunnel's assigned address (else
 * dropped, `spoofed`); the packet goes to the tunnel that owns the destination address (hub
 * routing), else — there is no TUN device yet (issue 5) — it is dropped (`no_route`).
 *
 * A tunnel's end is a struct dp_port the tunnel layer embeds; the data plane keeps a hash table
 * from assigned address to port and never owns the ports. It knows nothing of QUIC: packets go
 * out through the send function the owner gives, so the routing logic is testable alone. */
#ifndef AGENT_DATAPLANE_H
#define AGENT_DATAPLANE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"

/* What dp_send_fn returns. */
enum dp_send {
	DP_SENT = 0,
	DP_TOO_BIG = -1, /* over what the destination tunnel carries now */
	DP_BLOCKED = -2, /* congestion / flow control, or the tunnel is closing */
};

struct dp_counters {
	uint64_t rx_packets, rx_bytes; /* from the client into the network */
	uint64_t tx_packets, tx_bytes; /* from the network to the client */
	uint64_t dropped_packets; /* packets of this client dropped (spoofed, no route, ...) */
};

/* Drops of the whole data plane, by cause. */
struct dp_stats {
	uint64_t malformed; /* not an IPv4/IPv6 packet with consistent lengths */
	uint64_t spoofed; /* source address not the tunnel's assigned address */
	uint64_t no_route; /* no tunnel owns the destination (and no TUN device yet) */
	uint64_t too_big; /* over the destination tunnel's datagram size */
	uint64_t blocked; /* the destination tunnel could not take it now */
	uint64_t unassigned; /* from a tunnel without an address (or not in ip mode) */
};

/* One tunnel's end, embedded in the tunnel; zero it, then set conn. */
struct dp_port {
	void *conn; /* handed to dp_send_fn */
	struct addr addr; /* the assigned address, when routed */
	int routed; /* in the route table under addr */
	struct dp_counters c;
	struct dp_port *next; /* hash chain */
};

typedef int (*dp_send_fn)(void *conn, const void *pkt, size_t len);

struct dataplane;

/* A data plane sending with send, or NULL when out of memory (or of randomness for its hash
 * key). Free with dataplane_free() (NULL is fine); the ports are the caller's. */
struct dataplane *dataplane_new(dp_send_fn send);
void dataplane_free(struct dataplane *dp);

/* Route a to port p (a host route). A port has at most one address: a previous one is removed.
 * An address another port owns is taken over by p (the other port is no longer routed: the
 * manager granted the address to p's session, and a superseded or stale tunnel must not keep
 * receiving its packets). 0 or ERR_NOMEM. */
int dataplane_route_add(struct dataplane *dp, struct dp_port *p, const struct addr *a);

/* Remove p's route, if it has one. */
void dataplane_route_del(struct dataplane *dp, struct dp_port *p);

/* The port owning address a, or NULL. */
struct dp_port *dataplane_route_find(const struct dataplane *dp, const struct addr *a);

/* One datagram from the client of port from: counted, checked, routed, sent or dropped. */
void dataplane_uplink(struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len);

void dataplane_stats(const struct dataplane *dp, struct dp_stats *out);
size_t dataplane_routes(const struct dataplane *dp);

#endif
