/* A data-plane mode (proto/README.md §1.6): what a datagram of a tunnel is and how it is checked.
 * The data plane (dataplane.h) calls its mode once per packet each way; the route table, the
 * counters and the sink are the data plane's, the same in every mode.
 *
 *   ip     each datagram is one IPv4/IPv6 packet whose source must be the tunnel's assigned
 *          address; TTL / hop limit taken one off per forward, ICMP / ICMPv6 errors as answers
 *          (dp_ip.c, lib/icmp.h).
 *   scion  each datagram is one SCION packet (lib/scion.h) whose source must be the tunnel's
 *          (ISD-AS of its pool, assigned address), with a standard path and consistent lengths;
 *          its check also answers a violation with an SCMP Parameter Problem through the same
 *          tunnel (dataplane_answer_port()), which is why the check is given the data plane and
 *          the port. No hop count in the header (no-op), no answers of the router's: a packet
 *          too big for its tunnel is dropped (too_big) unanswered (dp_scion.c). */
#ifndef AGENT_DPMODE_H
#define AGENT_DPMODE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "dataplane.h"

struct dp_mode {
	const char *name; /* "ip", "scion" */
	/* Check one datagram (len bytes) from the client of port from, which has an address
	 * (from->addr): 0 with *dst filled (the sink goes by it), or the drop reason (enum
	 * dp_drop: DP_DROP_MALFORMED, DP_DROP_SPOOFED, ...). */
	int (*uplink_check)(struct dataplane *dp, struct dp_port *from, const uint8_t *pkt,
	    size_t len, struct dp_dest *dst);
	/* The source and destination host addresses of a packet the sink side hands in (TUN
	 * device, underlay), which the route table then looks up: 0 with *src and *dst, or the
	 * drop reason. */
	int (*downlink_dest)(const struct dataplane *dp, const uint8_t *pkt, size_t len,
	    struct addr *src, struct addr *dst);
	/* Router duty: take one off the hop count of a packet the data plane forwards (either
	 * way; it passed uplink_check or downlink_dest), in place: 0, or DP_DROP_TTL_EXCEEDED
	 * with pkt unchanged (the data plane answers DP_ANSWER_TIME_EXCEEDED). */
	int (*hop)(uint8_t *pkt, size_t len);
	/* Write into out (DP_ANSWER_MAX bytes) the error answer kind about pkt to its sender,
	 * sourced from src (mtu: the room for DP_ANSWER_TOO_BIG): its length, or 0 when none may
	 * be sent (an error about an error, a multicast source, src of another family, ...). */
	size_t (*answer)(enum dp_answer kind, const uint8_t *pkt, size_t len,
	    const struct addr *src, unsigned mtu, uint8_t *out);
	/* The drop of a packet from the sink side whose destination no tunnel owns. */
	int no_owner;
	/* The mode's own counts (struct dp_stats.mode[i], dataplane_mode_count()), which the
	 * agent's metrics show as the family counts_metric (counts_help its HELP text), one
	 * series per count with the label counts_label = counts[i]; counts ends with NULL and
	 * has at most DP_MODE_COUNTS names. NULL: none. */
	const char *counts_metric, *counts_help, *counts_label;
	const char *const *counts;
};

/* ip mode (dp_ip.c). */
extern const struct dp_mode dp_ip_mode;
/* scion mode (dp_scion.c). */
extern const struct dp_mode dp_scion_mode;

#endif
