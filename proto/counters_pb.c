#include <stddef.h>

#include "counters_pb.h"

void
counters_pb_from(State__Counters *m, const struct counters *c)
{
	state__counters__init(m);
	m->rx_packets = c->rx_packets;
	m->rx_bytes = c->rx_bytes;
	m->tx_packets = c->tx_packets;
	m->tx_bytes = c->tx_bytes;
	m->dropped_packets = c->dropped_packets;
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
}
