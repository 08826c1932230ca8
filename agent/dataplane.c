/* The data plane's core: the route table (host address -> port), the uplink and downlink paths
 * through the mode and the sink, the counters; and the hub sink. */
#include <stdlib.h>
#include <string.h>

#include "../lib/clock.h"
#include "../lib/hashtab.h"
#include "dataplane.h"
#include "dpmode.h"
#include "dpsink.h"

struct dataplane {
	struct dp_mode mode; /* copies: one pointer less to follow per packet */
	struct dp_sink sink;
	dp_send_fn send;
	dp_room_fn room;
	struct hashtab routes; /* of the routed ports by address (a client may ask for its own) */
	struct dp_stats stats;
	struct dp_pool *pools;
	size_t npools;
	int isolating; /* some pool has isolate_clients */
	struct bucket sink_answers; /* the rate of error answers into the sink side */
	/* An uplink packet is copied here to take its hop count (the datagram is the transport's,
	 * read-only); answers are written to answer. Neither outlives one packet: no allocation
	 * per packet. */
	uint8_t pkt[DP_PACKET_MAX];
	uint8_t answer[DP_ANSWER_MAX];
};

static size_t
addr_len(const struct addr *a)
{
	return a->family == 4 ? 4 : 16;
}

/* The key of a routed port: its address's bytes (the length tells the families apart). */
static const void *
port_key(const struct hnode *n, size_t *len)
{
	const struct dp_port *p = hashtab_centry(n, struct dp_port, node);

	*len = addr_len(&p->addr);
	return p->addr.b;
}

struct dataplane *
dataplane_new(
    const struct dp_mode *mode, const struct dp_sink *sink, dp_send_fn send, dp_room_fn room)
{
	struct dataplane *dp;

	if ((dp = calloc(1, sizeof(*dp))) == NULL)
		return NULL;
	dp->mode = *mode;
	dp->sink = *sink;
	dp->send = send;
	dp->room = room;
	if (hashtab_init(&dp->routes, port_key, 256) < 0) {
		free(dp);
		return NULL;
	}
	return dp;
}

void
dataplane_free(struct dataplane *dp)
{
	if (dp == NULL)
		return;
	hashtab_free(&dp->routes);
	free(dp->pools);
	free(dp);
}

struct dp_port *
dataplane_route_find(const struct dataplane *dp, const struct addr *a)
{
	struct hnode *n = hashtab_find(&dp->routes, a->b, addr_len(a));

	return n != NULL ? hashtab_entry(n, struct dp_port, node) : NULL;
}

void
dataplane_route_del(struct dataplane *dp, struct dp_port *p)
{
	if (!p->routed)
		return;
	hashtab_remove(&dp->routes, &p->node);
	p->routed = 0;
}

int
dataplane_route_add(struct dataplane *dp, struct dp_port *p, const struct addr *a)
{
	struct dp_port *other;

	dataplane_route_del(dp, p);
	if ((other = dataplane_route_find(dp, a)) != NULL)
		dataplane_route_del(dp, other);
	p->addr = *a;
	hashtab_insert(&dp->routes, &p->node);
	p->routed = 1;
	return 0;
}

size_t
dataplane_routes(const struct dataplane *dp)
{
	return hashtab_count(&dp->routes);
}

int
dataplane_pools_set(struct dataplane *dp, const struct dp_pool *pools, size_t n)
{
	struct dp_pool *v = NULL;

	if (n > 0) {
		if ((v = malloc(n * sizeof(*v))) == NULL)
			return -1;
		memcpy(v, pools, n * sizeof(*v));
	}
	free(dp->pools);
	dp->pools = v;
	dp->npools = n;
	dp->isolating = 0;
	for (size_t i = 0; i < n; i++)
		dp->isolating |= v[i].isolate_clients != 0;
	return 0;
}

const struct dp_pool *
dataplane_pool_of(const struct dataplane *dp, const struct addr *a)
{
	for (size_t i = 0; i < dp->npools; i++)
		if (prefix_contains(&dp->pools[i].prefix, a))
			return &dp->pools[i];
	return NULL;
}

int
dataplane_isolated(const struct dataplane *dp, const struct addr *a, const struct addr *b)
{
	const struct dp_pool *pa, *pb;

	if (!dp->isolating)
		return 0;
	pa = dataplane_pool_of(dp, a);
	pb = dataplane_pool_of(dp, b);
	return (pa != NULL && pa->isolate_clients) || (pb != NULL && pb->isolate_clients);
}

/* Count a drop of reason why (enum dp_drop), at the port whose packet it was when there is one,
 * else as unowned. */
static void
drop(struct dataplane *dp, struct dp_port *port, int why)
{
	switch (why) {
	case DP_DROP_MALFORMED: dp->stats.malformed++; break;
	case DP_DROP_SPOOFED: dp->stats.spoofed++; break;
	case DP_DROP_NO_ROUTE: dp->stats.no_route++; break;
	case DP_DROP_TOO_BIG: dp->stats.too_big++; break;
	case DP_DROP_BLOCKED: dp->stats.blocked++; break;
	case DP_DROP_UNASSIGNED: dp->stats.unassigned++; break;
	case DP_DROP_TTL_EXCEEDED: dp->stats.ttl_exceeded++; break;
	case DP_DROP_ISOLATED: dp->stats.isolated++; break;
	case DP_DROP_NO_TUNNEL: dp->stats.no_tunnel++; break;
	default: return;
	}
	counters_drop(port != NULL ? &port->c : &dp->stats.unowned, (enum counters_drop)(why - 1));
}

int
dataplane_answer_port(struct dataplane *dp, struct dp_port *to, const uint8_t *pkt, size_t len)
{
	if (!bucket_take(&to->answers, clock_mono_ns(), DP_ANSWER_RATE, DP_ANSWER_BURST)) {
		dp->stats.answers_limited++;
		return -1;
	}
	if (dp->send(to->conn, pkt, len) != 0)
		return -1;
	to->c.tx_packets++;
	to->c.tx_bytes += len;
	dp->stats.answers++;
	return 0;
}

void
dataplane_mode_count(struct dataplane *dp, unsigned i)
{
	if (i < DP_MODE_COUNTS)
		dp->stats.mode[i]++;
}

/* Answer kind about pkt (whose destination was dst) to its sender: the client of port from, or
 * the sink side (from NULL); mtu for DP_ANSWER_TOO_BIG. Into a tunnel the answer comes from the
 * gateway address of the sender's pool (what a client's traceroute should show), else from dst.
 * Into the sink side it comes from dst, the tunnel's address, always: the gateway address is
 * the TUN host's own, and a kernel drops a packet that arrives with one of its own addresses as
 * source (a martian), so the sender would never hear it. Rate-limited per receiver. */
static void
answer(struct dataplane *dp, struct dp_port *from, enum dp_answer kind, const uint8_t *pkt,
    size_t len, const struct addr *dst, unsigned mtu)
{
	const struct addr *src = dst;
	const struct dp_pool *pool;
	size_t n;

	if (from == NULL && dp->sink.answer == NULL)
		return;
	if (from != NULL && (pool = dataplane_pool_of(dp, &from->addr)) != NULL &&
	    pool->gateway.family == from->addr.family)
		src = &pool->gateway;
	if ((n = dp->mode.answer(kind, pkt, len, src, mtu, dp->answer)) == 0)
		return;
	if (from != NULL) {
		dataplane_answer_port(dp, from, dp->answer, n);
		return;
	}
	if (!bucket_take(&dp->sink_answers, clock_mono_ns(), DP_ANSWER_RATE, DP_ANSWER_BURST)) {
		dp->stats.answers_limited++;
		return;
	}
	if (dp->sink.answer(dp->sink.arg, dp->answer, n) == 0)
		dp->stats.answers++;
}

int
dataplane_forward(struct dataplane *dp, struct dp_port *from, struct dp_port *to,
    const uint8_t *pkt, size_t len, const struct addr *dst)
{
	int rv;

	if ((rv = dp->send(to->conn, pkt, len)) == 0) {
		to->c.tx_packets++;
		to->c.tx_bytes += len;
	} else if (rv == DP_DROP_TOO_BIG) {
		size_t room = dp->room(to->conn);

		answer(dp, from, DP_ANSWER_TOO_BIG, pkt, len, dst,
		    room > DP_PACKET_MAX ? DP_PACKET_MAX : (unsigned)room);
	}
	return rv;
}

/* The router's hop: one off the packet's hop count (pkt is the data plane's to change), or the
 * time-exceeded answer to its sender (from; NULL: the sink side). The one place for both
 * directions. */
static int
hop(struct dataplane *dp, struct dp_port *from, uint8_t *pkt, size_t len, const struct addr *dst)
{
	if (dp->mode.hop(pkt, len) == 0)
		return 0;
	answer(dp, from, DP_ANSWER_TIME_EXCEEDED, pkt, len, dst, 0);
	return DP_DROP_TTL_EXCEEDED;
}

void
dataplane_uplink(struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len)
{
	struct dp_dest dst;
	int why;

	from->c.rx_packets++;
	from->c.rx_bytes += len;
	if (!from->routed)
		why = DP_DROP_UNASSIGNED;
	else if (len > sizeof(dp->pkt))
		why = DP_DROP_MALFORMED;
	else if ((why = dp->mode.uplink_check(dp, from, pkt, len, &dst)) == 0) {
		memcpy(dp->pkt, pkt, len);
		if ((why = hop(dp, from, dp->pkt, len, &dst.host)) == 0)
			why = dp->sink.output(dp->sink.arg, dp, from, dp->pkt, len, &dst);
	}
	if (why != 0)
		drop(dp, from, why);
}

void
dataplane_downlink(struct dataplane *dp, uint8_t *pkt, size_t len)
{
	struct dp_port *to = NULL;
	struct addr src, dst;
	int why;

	if ((why = dp->mode.downlink_dest(dp, pkt, len, &src, &dst)) == 0) {
		if ((to = dataplane_route_find(dp, &dst)) == NULL)
			why = dp->mode.no_owner;
		/* A client's packet to a client that the sink side routed back (a host forwarding
		 * what the tun sink gave it, the way back to the device): isolation holds whatever
		 * the host does. The gateway's own address is no client's: it passes. */
		else if (dp->isolating && dataplane_isolated(dp, &src, &dst) &&
		    dataplane_route_find(dp, &src) != NULL)
			why = DP_DROP_ISOLATED;
		else if ((why = hop(dp, NULL, pkt, len, &dst)) == 0)
			why = dataplane_forward(dp, NULL, to, pkt, len, &dst);
	}
	if (why != 0)
		drop(dp, to, why);
}

void
dataplane_sink_drop(struct dataplane *dp, int why, unsigned n)
{
	while (n-- > 0)
		drop(dp, NULL, why);
}

void
dataplane_stats(const struct dataplane *dp, struct dp_stats *out)
{
	*out = dp->stats;
}

/* ---- the hub sink ---- */

static int
hub_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len,
    const struct dp_dest *dst)
{
	struct dp_port *to;

	(void)arg;
	if ((to = dataplane_route_find(dp, &dst->host)) == NULL)
		return DP_DROP_NO_ROUTE;
	if (dataplane_isolated(dp, &from->addr, &dst->host))
		return DP_DROP_ISOLATED;
	return dataplane_forward(dp, from, to, pkt, len, &dst->host);
}

const struct dp_sink dataplane_hub = {
    .name = "hub",
    .output = hub_output,
};
