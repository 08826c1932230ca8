#include "counters.h"

const char *const counters_drop_names[COUNTERS_DROP_N] = {
    [COUNTERS_DROP_MALFORMED] = "malformed",
    [COUNTERS_DROP_SPOOFED] = "spoofed",
    [COUNTERS_DROP_NO_ROUTE] = "no_route",
    [COUNTERS_DROP_TOO_BIG] = "too_big",
    [COUNTERS_DROP_BLOCKED] = "blocked",
    [COUNTERS_DROP_UNASSIGNED] = "unassigned",
    [COUNTERS_DROP_TTL_EXCEEDED] = "ttl_exceeded",
    [COUNTERS_DROP_ISOLATED] = "isolated",
    [COUNTERS_DROP_NO_TUNNEL] = "no_tunnel",
};

void
counters_add(struct counters *dst, const struct counters *src)
{
	dst->rx_packets += src->rx_packets;
	dst->rx_bytes += src->rx_bytes;
	dst->tx_packets += src->tx_packets;
	dst->tx_bytes += src->tx_bytes;
	dst->dropped_packets += src->dropped_packets;
	for (int i = 0; i < COUNTERS_DROP_N; i++)
		dst->drops[i] += src->drops[i];
}
