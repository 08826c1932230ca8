/* scion mode (dpmode.h, proto/README.md §1.6): each datagram is one SCION packet, checked and
 * decoded by lib/scion.h. Uplink, a packet must come from its tunnel's (ISD-AS of the pool,
 * assigned address), over a standard path, with consistent lengths; a violation is dropped
 * and answered with an SCMP Parameter Problem through the same tunnel. Downlink, a packet from
 * the underlay goes to the tunnel that owns its destination (ISD-AS, host address).
 *
 * The router's other duties have no SCION form here: the header carries no hop count (a SCION
 * router checks the hop field's expiry and MAC, which are the border routers' to check, not a
 * gateway's), and a packet too big for its tunnel would need an SCMP Packet Too Big sent back
 * over the reversed path of the packet, which the gateway does not build: it is dropped and
 * counted (too_big) without an answer. */
#include "../lib/scion.h"
#include "dpmode.h"

/* The SCMP Parameter Problem codes the uplink check answers with, as the mode's counts (their
 * names are the codes). */
static const int problem_codes[] = {
    SCION_BAD_COMMON_HDR,
    SCION_BAD_SIZE,
    SCION_UNKNOWN_PATH,
    SCION_BAD_ADDR_HDR,
    SCION_BAD_SRC_ADDR,
    SCION_BAD_PATH,
};
static const char *const problem_names[] = {"16", "19", "20", "32", "33", "48", NULL};

_Static_assert(sizeof(problem_codes) / sizeof(problem_codes[0]) + 1 ==
	sizeof(problem_names) / sizeof(problem_names[0]),
    "a name per code");
_Static_assert(sizeof(problem_codes) / sizeof(problem_codes[0]) <= DP_MODE_COUNTS,
    "the codes fit the mode's counts");

static unsigned
problem_index(int code)
{
	unsigned i;

	for (i = 0; i < sizeof(problem_codes) / sizeof(problem_codes[0]); i++)
		if (problem_codes[i] == code)
			break;
	return i; /* past the codes (never: the codec answers these only): not counted */
}

static int
scion_check(
    struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len, struct dp_dest *dst)
{
	const struct dp_pool *pool = dataplane_pool_of(dp, &from->addr);
	uint8_t scmp[SCION_SCMP_MAX];
	struct scion_hdr h;
	unsigned pointer;
	size_t n;
	int code;

	/* The tunnel's pool is gone (removed while the tunnel was up): no ISD-AS to hold its
	 * packets to, and none to send them from. */
	if (pool == NULL)
		return DP_DROP_NO_ROUTE;
	if ((code = scion_uplink_check(pkt, len, pool->isd_as, &from->addr, &h, &pointer)) == 0) {
		dst->host = h.dst;
		dst->isd_as = h.dst_ia;
		dst->egress_if = h.egress_if;
		return 0;
	}
	dataplane_mode_count(dp, problem_index(code));
	/* From the gateway (the pool's, or the agent's underlay address: main.c fills it in) in
	 * the tunnel's AS to the tunnel's own (ISD-AS, address). */
	if (pool->gateway.family != 0 &&
	    (n = scion_param_problem(pkt, len, (unsigned)code, pointer, pool->isd_as,
		 &pool->gateway, pool->isd_as, &from->addr, scmp)) > 0)
		dataplane_answer_port(dp, from, scmp, n);
	return code == SCION_BAD_SRC_ADDR ? DP_DROP_SPOOFED : DP_DROP_MALFORMED;
}

/* The dispatch key of lib/scion.h is (destination host, UDP port / SCMP identifier / quoted UDP
 * source port), then (destination host, any port). Every tunnel owns its host address whole
 * (the manager grants addresses, not ports), so (host, port) and (host, any port) always name
 * the same tunnel: the port never picks another one, and the route table's host address is
 * the whole key. The key is still taken: it is what checks that the packet is UDP or SCMP with
 * consistent lengths. A destination of another ISD-AS than the pool holding its host address
 * is no tunnel's (a tunnel's address is the pair). */
static int
scion_downlink_dest(
    const struct dataplane *dp, const uint8_t *pkt, size_t len, struct addr *src, struct addr *dst)
{
	const struct dp_pool *pool;
	struct scion_hdr h;
	uint16_t port;

	if (scion_dispatch_key(pkt, len, &h, &port) < 0)
		return DP_DROP_MALFORMED;
	if ((pool = dataplane_pool_of(dp, &h.dst)) == NULL || pool->isd_as != h.dst_ia)
		return DP_DROP_NO_TUNNEL;
	*src = h.src;
	*dst = h.dst;
	return 0;
}

static int
scion_hop(uint8_t *pkt, size_t len)
{
	(void)pkt;
	(void)len;
	return 0;
}

static size_t
scion_answer(enum dp_answer kind, const uint8_t *pkt, size_t len, const struct addr *src,
    unsigned mtu, uint8_t *out)
{
	(void)kind;
	(void)pkt;
	(void)len;
	(void)src;
	(void)mtu;
	(void)out;
	return 0;
}

const struct dp_mode dp_scion_mode = {
    .name = "scion",
    .uplink_check = scion_check,
    .downlink_dest = scion_downlink_dest,
    .hop = scion_hop,
    .answer = scion_answer,
    .no_owner = DP_DROP_NO_TUNNEL,
    .counts_metric = "snaptun_agent_scion_problems_total",
    .counts_help = "Uplink SCION packets dropped and answered with an SCMP Parameter Problem "
		   "(rate-limited), by its code.",
    .counts_label = "code",
    .counts = problem_names,
};
