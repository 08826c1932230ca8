#include "counters.h"

void
counters_add(struct counters *dst, const struct counters *src)
{
	dst->rx_packets += src->rx_packets;
	dst->rx_bytes += src->rx_bytes;
	dst->tx_packets += src->tx_packets;
	dst->tx_bytes += src->tx_bytes;
	dst->dropped_packets += src->dropped_packets;
}
