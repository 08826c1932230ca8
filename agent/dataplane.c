/* The data plane's core: the route table (host address -> port), the uplink and downlink paths
 * through the mode and the sink, the counters; and the hub sink. */
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "../lib/secret.h"
#include "../lib/siphash.h"
#include "dataplane.h"
#include "dpmode.h"
#include "dpsink.h"

struct dataplane {
	struct dp_mode mode; /* copies: one pointer less to follow per packet */
	struct dp_sink sink;
	dp_send_fn send;
	struct dp_port **buckets; /* chained by dp_port.next; nbuckets a power of two */
	size_t nbuckets, nroutes;
	unsigned char hkey[SIPHASH_KEY_LEN]; /* a client may ask for its address */
	struct dp_stats stats;
};

struct dataplane *
dataplane_new(const struct dp_mode *mode, const struct dp_sink *sink, dp_send_fn send)
{
	struct dataplane *dp;

	if ((dp = calloc(1, sizeof(*dp))) == NULL)
		return NULL;
	dp->mode = *mode;
	dp->sink = *sink;
	dp->send = send;
	dp->nbuckets = 256;
	if (secret_random(dp->hkey, sizeof(dp->hkey)) < 0 ||
	    (dp->buckets = calloc(dp->nbuckets, sizeof(*dp->buckets))) == NULL) {
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
	free(dp->buckets);
	free(dp);
}

static size_t
addr_len(const struct addr *a)
{
	return a->family == 4 ? 4 : 16;
}

static size_t
bucket_of(const struct dataplane *dp, const struct addr *a)
{
	/* the length tells the families apart */
	return (size_t)siphash24(dp->hkey, a->b, addr_len(a)) & (dp->nbuckets - 1);
}

struct dp_port *
dataplane_route_find(const struct dataplane *dp, const struct addr *a)
{
	struct dp_port *p;

	for (p = dp->buckets[bucket_of(dp, a)]; p != NULL; p = p->next)
		if (dataplane_addr_eq(&p->addr, a))
			return p;
	return NULL;
}

void
dataplane_route_del(struct dataplane *dp, struct dp_port *p)
{
	struct dp_port **pp;

	if (!p->routed)
		return;
	for (pp = &dp->buckets[bucket_of(dp, &p->addr)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	p->next = NULL;
	p->routed = 0;
	dp->nroutes--;
}

/* Double the table when it holds more routes than buckets. 0 or ERR_NOMEM. */
static int
rehash(struct dataplane *dp)
{
	struct dp_port **old = dp->buckets, *p, *next;
	size_t oldn = dp->nbuckets;

	if (dp->nroutes < dp->nbuckets)
		return 0;
	if ((dp->buckets = calloc(oldn * 2, sizeof(*dp->buckets))) == NULL) {
		dp->buckets = old;
		return ERR_NOMEM;
	}
	dp->nbuckets = oldn * 2;
	for (size_t i = 0; i < oldn; i++) {
		for (p = old[i]; p != NULL; p = next) {
			size_t b = bucket_of(dp, &p->addr);

			next = p->next;
			p->next = dp->buckets[b];
			dp->buckets[b] = p;
		}
	}
	free(old);
	return 0;
}

int
dataplane_route_add(struct dataplane *dp, struct dp_port *p, const struct addr *a)
{
	struct dp_port *other;
	size_t b;

	dataplane_route_del(dp, p);
	if ((other = dataplane_route_find(dp, a)) != NULL)
		dataplane_route_del(dp, other);
	if (rehash(dp) < 0)
		return ERR_NOMEM;
	p->addr = *a;
	b = bucket_of(dp, a);
	p->next = dp->buckets[b];
	dp->buckets[b] = p;
	p->routed = 1;
	dp->nroutes++;
	return 0;
}

size_t
dataplane_routes(const struct dataplane *dp)
{
	return dp->nroutes;
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
