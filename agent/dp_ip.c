/* ip mode (proto/README.md §1.6): each datagram is one IPv4/IPv6 packet (ippkt.h); uplink, its
 * source must be the tunnel's assigned address. The router's duties are lib/icmp.h's: the TTL /
 * hop limit, and ICMP / ICMPv6 errors as answers. */
#include "../lib/icmp.h"
#include "dpmode.h"
#include "ippkt.h"

static int
ip_uplink_check(
    struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len, struct dp_dest *dst)
{
	struct ippkt ip;

	(void)dp;
	if (ippkt_parse(pkt, len, &ip) < 0)
		return DP_DROP_MALFORMED;
	if (!dataplane_port_owns(from, &ip.src))
		return DP_DROP_SPOOFED;
	dst->host = ip.dst;
	dst->isd_as = 0;
	dst->egress_if = 0;
	return 0;
}

static int
ip_downlink_dest(
    const struct dataplane *dp, const uint8_t *pkt, size_t len, struct addr *src, struct addr *dst)
{
	struct ippkt ip;

	(void)dp;
	if (ippkt_parse(pkt, len, &ip) < 0)
		return DP_DROP_MALFORMED;
	*src = ip.src;
	*dst = ip.dst;
	return 0;
}

static int
ip_hop(uint8_t *pkt, size_t len)
{
	return icmp_hop_decrement(pkt, len) == 0 ? 0 : DP_DROP_TTL_EXCEEDED;
}

static size_t
ip_answer(enum dp_answer kind, const uint8_t *pkt, size_t len, const struct addr *src, unsigned mtu,
    uint8_t *out)
{
	_Static_assert(ICMP_ERR_MAX <= DP_ANSWER_MAX, "an ICMP error fits an answer");
	return icmp_error(
	    kind == DP_ANSWER_TOO_BIG ? ICMP_TOO_BIG : ICMP_TIME_EXCEEDED, pkt, len, src, mtu, out);
}

const struct dp_mode dp_ip_mode = {
    .name = "ip",
    .uplink_check = ip_uplink_check,
    .downlink_dest = ip_downlink_dest,
    .hop = ip_hop,
    .answer = ip_answer,
    .no_owner = DP_DROP_NO_ROUTE,
};
