/* The agent's data plane (proto/README.md §1.6): what happens to a packet between the tunnels and
 * the network, the same whatever the mode.
 *
 *   uplink    a datagram from a tunnel's client: counted at its port; dropped when the port has
 *             no address (`unassigned`); checked by the mode (struct dp_mode, dpmode.h: ip
 *             mode's source check, scion mode's header checks); its hop count taken one off
 *             (the mode's hop: TTL / hop limit); then handed to the sink (struct dp_sink,
 *             dpsink.h: the hub, which forwards to the tunnel owning the destination address; a
 *             TUN device; the SCION underlay).
 *   downlink  a packet from the sink side (TUN device, underlay) for a tunnel: the mode names its
 *             destination host address, the route table finds the port, the hop count is taken,
 *             the packet is sent.
 *
 * Being a router, it answers what it cannot forward (the mode writes the answer: ICMP in ip
 * mode): a hop count that ran out (time exceeded) and a packet over the destination tunnel's room
 * (too big, with the room the owner's dp_room_fn reports), back to the sender, a tunnel or the
 * sink side (dp_sink.answer); at most DP_ANSWER_RATE a second per receiver.
 *
 * A tunnel's end is a struct dp_port the tunnel layer embeds; the data plane keeps a hash table
 * from assigned host address to port and never owns the ports. It knows nothing of QUIC: packets
 * go into a tunnel through the send function the owner gives, so it is testable alone. Per
 * packet it calls the mode's check and hop and the sink (and the send function), copying an
 * uplink packet once into its own buffer: no allocation. */
#ifndef AGENT_DATAPLANE_H
#define AGENT_DATAPLANE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../lib/addr.h"
#include "../lib/counters.h"
#include "../lib/bucket.h"
#include "../lib/hashtab.h"

/* Why a packet was dropped: each counts in its struct dp_stats field and, for a packet of a
 * tunnel (from it, or to it), in that port's counters (lib/counters.h, drops[why - 1]). Mode
 * checks, sinks and the send function return 0 or one of these. */
enum dp_drop {
	DP_DROP_MALFORMED = COUNTERS_DROP_MALFORMED + 1,
	DP_DROP_SPOOFED = COUNTERS_DROP_SPOOFED + 1,
	DP_DROP_NO_ROUTE = COUNTERS_DROP_NO_ROUTE + 1,
	DP_DROP_TOO_BIG = COUNTERS_DROP_TOO_BIG + 1,
	DP_DROP_BLOCKED = COUNTERS_DROP_BLOCKED + 1,
	DP_DROP_UNASSIGNED = COUNTERS_DROP_UNASSIGNED + 1,
	DP_DROP_TTL_EXCEEDED = COUNTERS_DROP_TTL_EXCEEDED + 1,
	DP_DROP_ISOLATED = COUNTERS_DROP_ISOLATED + 1,
	DP_DROP_NO_TUNNEL = COUNTERS_DROP_NO_TUNNEL + 1,
};

/* The router's error answers (ICMP in ip mode: dpmode.h), at most DP_ANSWER_RATE a second with
 * bursts of DP_ANSWER_BURST per port, and as many for the sink side (lib/bucket.h): a flood of
 * bad packets cannot make the agent send more than that back. */
#define DP_ANSWER_RATE 100
#define DP_ANSWER_BURST 20
#define DP_ANSWER_MAX 1280 /* the largest answer a mode writes */
#define DP_PACKET_MAX 65535 /* the largest packet the data plane forwards */
#define DP_MODE_COUNTS 8 /* counters a mode keeps of its own (struct dp_mode.counts) */

enum dp_answer {
	DP_ANSWER_TOO_BIG = 1, /* over what the next hop carries; with the MTU it does carry */
	DP_ANSWER_TIME_EXCEEDED, /* the hop count ran out here */
};

/* Drops of the whole data plane, by cause, and its answers. */
struct dp_stats {
	uint64_t malformed; /* not a packet of the mode with consistent lengths */
	uint64_t spoofed; /* source address not the tunnel's assigned address */
	uint64_t no_route; /* the sink has nowhere to send it (the hub: no tunnel owns it) */
	uint64_t too_big; /* over the destination tunnel's datagram size (answered) */
	uint64_t blocked; /* the destination could not take it now */
	uint64_t unassigned; /* from a tunnel without an address */
	uint64_t ttl_exceeded; /* its hop count ran out here (answered) */
	uint64_t isolated; /* client to client in a pool with isolate_clients, no TUN device */
	uint64_t no_tunnel; /* scion mode: from the sink side for a host no tunnel owns */
	uint64_t answers; /* error answers sent */
	uint64_t answers_limited; /* error answers the rate limit held back */
	/* drops of packets from the sink side that no tunnel owns (so no session counts them),
	 * by reason: STATS adds them to the agent's totals */
	struct counters unowned;
	/* the mode's own counts (dataplane_mode_count()), named by its struct dp_mode.counts */
	uint64_t mode[DP_MODE_COUNTS];
};

/* Where an uplink packet goes, as the mode's check found it: what the sink goes by. */
struct dp_dest {
	struct addr host; /* the destination host address */
	uint64_t isd_as; /* scion mode: the destination ISD-AS (ip mode: 0) */
	unsigned egress_if; /* scion mode: the interface the packet leaves the local AS by */
};

/* A pool as the data plane needs it (the agent's state.c has the rest). */
struct dp_pool {
	struct prefix prefix;
	uint64_t isd_as; /* the pool's ISD-AS: its clients' (scion mode checks their packets') */
	/* where the router's answers into the pool's tunnels come from: ip mode, the gateway's
	 * address in the pool; scion mode, that or another address of the agent's. Family 0:
	 * none. */
	struct addr gateway;
	int isolate_clients;
};

/* One tunnel's end, embedded in the tunnel; zero it, then set conn. */
struct dp_port {
	void *conn; /* handed to dp_send_fn */
	struct addr addr; /* the assigned address, when routed */
	int routed; /* in the route table under addr */
	struct counters c;
	struct bucket answers; /* the rate of error answers into this tunnel */
	struct hnode node; /* the route table's */
};

/* Send len bytes into the tunnel conn: 0, DP_DROP_TOO_BIG (over what it carries now: the data
 * plane then asks dp_room_fn and answers the sender) or DP_DROP_BLOCKED (congestion, flow
 * control, closing). */
typedef int (*dp_send_fn)(void *conn, const void *pkt, size_t len);
/* The largest packet the tunnel conn carries now (its datagram room). */
typedef size_t (*dp_room_fn)(void *conn);

struct dp_mode;
struct dp_sink;
struct dataplane;

/* A data plane of mode (dpmode.h) handing uplink packets to sink (dpsink.h; copied, its arg
 * stays the caller's), sending into tunnels with send, learning their room with room. NULL when
 * out of memory (or of randomness for its hash key). Free with dataplane_free() (NULL is fine);
 * the ports are the caller's. */
struct dataplane *dataplane_new(
    const struct dp_mode *mode, const struct dp_sink *sink, dp_send_fn send, dp_room_fn room);
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

/* Replace the pools the data plane knows (copied) by the n of pools: the gateway address
 * ICMP errors into a tunnel come from, and isolate_clients. 0, or -1 when out of memory (the old
 * ones stay). */
int dataplane_pools_set(struct dataplane *dp, const struct dp_pool *pools, size_t n);

/* The pool holding a, or NULL. */
const struct dp_pool *dataplane_pool_of(const struct dataplane *dp, const struct addr *a);

/* Whether a packet between tunnel addresses a and b must not go from one tunnel to the other:
 * the pool of either has isolate_clients. 1 or 0. */
int dataplane_isolated(const struct dataplane *dp, const struct addr *a, const struct addr *b);

/* One datagram from the client of port from: counted, checked, its hop count taken one off
 * (answered when it ran out), handed to the sink or dropped. */
void dataplane_uplink(struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len);

/* One packet from the sink side for whichever tunnel owns its destination: its hop count taken
 * one off (in place; answered through the sink when it ran out), then sent (answered through the
 * sink when too big for the tunnel) or dropped; dropped as isolated when it is one client's to
 * another that dataplane_isolated() keeps apart (routed back by the host). */
void dataplane_downlink(struct dataplane *dp, uint8_t *pkt, size_t len);

/* An error answer the mode wrote itself (len bytes: scion mode's SCMP Parameter Problem about
 * an uplink packet) into the tunnel of port to, under the same rate limit as the router's
 * answers (DP_ANSWER_RATE a second per port) and counted as they are (answers,
 * answers_limited; to's tx): 0 sent, -1 held back or refused by the tunnel. */
int dataplane_answer_port(struct dataplane *dp, struct dp_port *to, const uint8_t *pkt, size_t len);

/* Count one event i (below DP_MODE_COUNTS) of the mode's own (struct dp_stats.mode[i]). */
void dataplane_mode_count(struct dataplane *dp, unsigned i);

/* A sink's forward of an uplink packet of port from (whose hop count the data plane took) into
 * the tunnel of port to, counted there: 0, or the send function's drop, which the caller
 * returns for the data plane to count; DP_DROP_TOO_BIG has been answered to from with the room
 * of to (dst: the packet's destination, the answer's source when its pool has no gateway). */
int dataplane_forward(struct dataplane *dp, struct dp_port *from, struct dp_port *to,
    const uint8_t *pkt, size_t len, const struct addr *dst);

/* n packets the sink lost for reason why (enum dp_drop) where no port can be named: uplink
 * packets it held and then failed to write (their tunnels may be gone by then), or a read of
 * its own side that gave no packet. Counted in the data plane's drops and its unowned
 * counters. */
void dataplane_sink_drop(struct dataplane *dp, int why, unsigned n);

void dataplane_stats(const struct dataplane *dp, struct dp_stats *out);
size_t dataplane_routes(const struct dataplane *dp);

#endif
