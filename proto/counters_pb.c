#include <stddef.h>

#include "counters_pb.h"

/* The Counters fields of the drop reasons, by enum counters_drop. */
#define DROP_FIELDS(X) \
	X(COUNTERS_DROP_MALFORMED, drop_malformed) \
	X(COUNTERS_DROP_SPOOFED, drop_spoofed) \
	X(COUNTERS_DROP_NO_ROUTE, drop_no_route) \
	X(COUNTERS_DROP_TOO_BIG, drop_too_big) \
	X(COUNTERS_DROP_BLOCKED, drop_blocked) \
	X(COUNTERS_DROP_UNASSIGNED, drop_unassigned) \
	X(COUNTERS_DROP_TTL_EXCEEDED, drop_ttl_exceeded) \
	X(COUNTERS_DROP_ISOLATED, drop_isolated) \
	X(COUNTERS_DROP_NO_TUNNEL, drop_no_tunnel)

void
counters_pb_from(State__Counters *m, const struct counters *c)
{
	state__counters__init(m);
	m->rx_packets = c->rx_packets;
	m->rx_bytes = c->rx_bytes;
	m->tx_packets = c->tx_packets;
	m->tx_bytes = c->tx_bytes;
	m->dropped_packets = c->dropped_packets;
#define FROM(i, f) m->f = c->drops[i];
	DROP_FIELDS(FROM)
#undef FROM
}

void
counters_pb_to(struct counters *c, const State__Counters *m)
{
	if (m == NULL)
		return;
	c->rx_packets = m->rx_packets;
	c->rx_bytes = m->rx_bytes;
	c->tx_packets = m->tx_packets;
	c->tx_bytes = m->tx_bytes;
	c->dropped_packets = m->dropped_packets;
#define TO(i, f) c->drops[i] = m->f;
	DROP_FIELDS(TO)
#undef TO
}
