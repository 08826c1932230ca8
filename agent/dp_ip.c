/* ip mode (proto/README.md §1.6): each datagram is one IPv4/IPv6 packet (ippkt.h); uplink, its
 * source must be the tunnel's assigned address. */
#include "dpmode.h"
#include "ippkt.h"

static int
ip_uplink_check(struct dataplane *dp, const struct dp_port *from, const uint8_t *pkt, size_t len,
    struct addr *dst)
{
	struct ippkt ip;

	(void)dp;
	if (ippkt_parse(pkt, len, &ip) < 0)
		return DP_DROP_MALFORMED;
	if (!dataplane_port_owns(from, &ip.src))
		return DP_DROP_SPOOFED;
	*dst = ip.dst;
	return 0;
}

static int
ip_downlink_dest(const uint8_t *pkt, size_t len, struct addr *dst)
{
	struct ippkt ip;

	if (ippkt_parse(pkt, len, &ip) < 0)
		return DP_DROP_MALFORMED;
	*dst = ip.dst;
	return 0;
}

const struct dp_mode dp_ip_mode = {
    .name = "ip",
    .uplink_check = ip_uplink_check,
    .downlink_dest = ip_downlink_dest,
};
