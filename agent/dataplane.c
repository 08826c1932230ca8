/* The data plane's core: the route table (host address -> port), the uplink and downlink paths
 * through the mode and the sink, the counters; and the hub sink. */
#include <stdlib.h>
#include <string.h>

#include "../lib/hashtab.h"
#include "dataplane.h"
#include "dpmode.h"
#include "dpsink.h"

struct dataplane {
	struct dp_mode mode; /* copies: one pointer less to follow per packet */
	struct dp_sink sink;
	dp_send_fn send;
	struct hashtab routes; /* of the routed ports by address (a client may ask for its own) */
	struct dp_stats stats;
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
dataplane_new(const struct dp_mode *mode, const struct dp_sink *sink, dp_send_fn send)
{
	struct dataplane *dp;

	if ((dp = calloc(1, sizeof(*dp))) == NULL)
		return NULL;
	dp->mode = *mode;
	dp->sink = *sink;
	dp->send = send;
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

/* Count a drop of reason why (enum dp_drop), at the sending port too when there is one. */
static void
drop(struct dataplane *dp, struct dp_port *from, int why)
{
	switch (why) {
	case DP_DROP_MALFORMED: dp->stats.malformed++; break;
	case DP_DROP_SPOOFED: dp->stats.spoofed++; break;
	case DP_DROP_NO_ROUTE: dp->stats.no_route++; break;
	case DP_DROP_TOO_BIG: dp->stats.too_big++; break;
	case DP_DROP_BLOCKED: dp->stats.blocked++; break;
	case DP_DROP_UNASSIGNED: dp->stats.unassigned++; break;
	}
	if (from != NULL)
		from->c.dropped_packets++;
}

int
dataplane_deliver(struct dataplane *dp, const struct addr *dst, const uint8_t *pkt, size_t len)
{
	struct dp_port *to;
	int rv;

	if ((to = dataplane_route_find(dp, dst)) == NULL)
		return DP_DROP_NO_ROUTE;
	/* Over-size: the sender should hear ICMP "packet too big" / "fragmentation needed"
	 * (QUIC keeps packets at 1200 bytes until path-MTU discovery proves more, so this is no
	 * rare case); generating it belongs to the TUN work of issue 5, here the packet is only
	 * dropped and counted. */
	if ((rv = dp->send(to->conn, pkt, len)) != 0)
		return rv;
	to->c.tx_packets++;
	to->c.tx_bytes += len;
	return 0;
}

void
dataplane_uplink(struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len)
{
	struct addr dst;
	int why;

	from->c.rx_packets++;
	from->c.rx_bytes += len;
	if (!from->routed)
		why = DP_DROP_UNASSIGNED;
	else if ((why = dp->mode.uplink_check(dp, from, pkt, len, &dst)) == 0)
		why = dp->sink.output(dp->sink.arg, dp, from, pkt, len, &dst);
	if (why != 0)
		drop(dp, from, why);
}

void
dataplane_downlink(struct dataplane *dp, const uint8_t *pkt, size_t len)
{
	struct addr dst;
	int why;

	if ((why = dp->mode.downlink_dest(pkt, len, &dst)) == 0)
		why = dataplane_deliver(dp, &dst, pkt, len);
	if (why != 0)
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
    const struct addr *dst)
{
	(void)arg;
	(void)from;
	return dataplane_deliver(dp, dst, pkt, len);
}

const struct dp_sink dataplane_hub = {
    .name = "hub",
    .output = hub_output,
};
