/* The agent's data plane (proto/README.md §1.6): what happens to a packet between the tunnels and
 * the network, the same whatever the mode.
 *
 *   uplink    a datagram from a tunnel's client: counted at its port; dropped when the port has
 *             no address (`unassigned`); checked by the mode (struct dp_mode, dpmode.h: ip
 *             mode's source check, scion mode's header checks); then handed to the sink (struct
 *             dp_sink, dpsink.h: the hub, which forwards to the tunnel owning the destination
 *             address; a TUN device; the SCION underlay).
 *   downlink  a packet from the sink side (TUN device, underlay) for a tunnel: the mode names its
 *             destination host address, the route table finds the port, the packet is sent.
 *
 * A tunnel's end is a struct dp_port the tunnel layer embeds; the data plane keeps a hash table
 * from assigned host address to port and never owns the ports. It knows nothing of QUIC: packets
 * go into a tunnel through the send function the owner gives, so it is testable alone. Per
 * packet it calls the mode's check and the sink (and the send function): no allocation. */
#ifndef AGENT_DATAPLANE_H
#define AGENT_DATAPLANE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../lib/addr.h"
#include "../lib/counters.h"
#include "../lib/hashtab.h"

/* Why a packet was dropped: each counts in its struct dp_stats field. Mode checks, sinks and
 * the send function return 0 or one of these. */
enum dp_drop {
	DP_DROP_MALFORMED = 1,
	DP_DROP_SPOOFED,
	DP_DROP_NO_ROUTE,
	DP_DROP_TOO_BIG,
	DP_DROP_BLOCKED,
	DP_DROP_UNASSIGNED,
};

/* Drops of the whole data plane, by cause. */
struct dp_stats {
	uint64_t malformed; /* not a packet of the mode with consistent lengths */
	uint64_t spoofed; /* source address not the tunnel's assigned address */
	uint64_t no_route; /* the sink has nowhere to send it (the hub: no tunnel owns it) */
	uint64_t too_big; /* over the destination tunnel's datagram size */
	uint64_t blocked; /* the destination tunnel could not take it now */
	uint64_t unassigned; /* from a tunnel without an address */
};

/* One tunnel's end, embedded in the tunnel; zero it, then set conn. */
struct dp_port {
	void *conn; /* handed to dp_send_fn */
	struct addr addr; /* the assigned address, when routed */
	int routed; /* in the route table under addr */
	struct counters c;
	struct hnode node; /* the route table's */
};

/* Send len bytes into the tunnel conn: 0, DP_DROP_TOO_BIG (over what it carries now) or
 * DP_DROP_BLOCKED (congestion, flow control, closing). */
typedef int (*dp_send_fn)(void *conn, const void *pkt, size_t len);

struct dp_mode;
struct dp_sink;
struct dataplane;

/* A data plane of mode (dpmode.h) handing uplink packets to sink (dpsink.h; copied, its arg
 * stays the caller's), sending into tunnels with send. NULL when out of memory (or of randomness
 * for its hash key). Free with dataplane_free() (NULL is fine); the ports are the caller's. */
struct dataplane *dataplane_new(
    const struct dp_mode *mode, const struct dp_sink *sink, dp_send_fn send);
void dataplane_free(struct dataplane *dp);

/* Route a to port p (a host route). A port has at most one address: a previous one is removed.
 * An address another port owns is taken over by p (the other port is no longer routed: the
 * manager granted the address to p's session, and a superseded or stale tunnel must not keep
 * receiving its packets). 0: the table grows as needed, or lengthens its chains when memory is
 * short, so a route is never refused. */
int dataplane_route_add(struct dataplane *dp, struct dp_port *p, const struct addr *a);

/* Remove p's route, if it has one. */
void dataplane_route_del(struct dataplane *dp, struct dp_port *p);

/* The port owning address a, or NULL. */
struct dp_port *dataplane_route_find(const struct dataplane *dp, const struct addr *a);

/* Whether a and b are the same address (family and bytes). Inline: the modes' source check runs
 * for every packet. */
static inline int
dataplane_addr_eq(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, a->family == 4 ? 4 : 16) == 0;
}

/* Whether a is p's assigned address (p routed): the source check of the modes. 1 or 0. */
static inline int
dataplane_port_owns(const struct dp_port *p, const struct addr *a)
{
	return p->routed && dataplane_addr_eq(&p->addr, a);
}

/* One datagram from the client of port from: counted, checked, handed on or dropped. */
void dataplane_uplink(struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len);

/* One packet from the sink side for whichever tunnel owns its destination: sent or dropped. */
void dataplane_downlink(struct dataplane *dp, const uint8_t *pkt, size_t len);

/* Send pkt into the tunnel owning dst, counted there: 0, DP_DROP_NO_ROUTE (no tunnel owns it),
 * or the send function's drop. Nothing is counted as dropped here: the caller counts. */
int dataplane_deliver(struct dataplane *dp, const struct addr *dst, const uint8_t *pkt, size_t len);

void dataplane_stats(const struct dataplane *dp, struct dp_stats *out);
size_t dataplane_routes(const struct dataplane *dp);

#endif
