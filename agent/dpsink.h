/* Where the data plane (dataplane.h) sends uplink packets once the mode has checked them: the
 * packet sink. The data plane calls it once per packet; a sink that can hand packets back (a
 * TUN device, the SCION underlay) does so with dataplane_downlink().
 *
 *   hub    to the tunnel that owns the destination address, else dropped (`no_route`); client
 *          to client in a pool with isolate_clients dropped (`isolated`): ip mode without a
 *          TUN device (dataplane_hub, dataplane.c).
 *   tun    to the tunnel that owns the destination address (not between clients of a pool
 *          with isolate_clients), else to the gateway's TUN device, whose packets come back
 *          through dataplane_downlink() (dp_tun.h).
 *   scion  the SCION underlay next hop over UDP (with scion mode). */
#ifndef AGENT_DPSINK_H
#define AGENT_DPSINK_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "dataplane.h"

struct dp_sink {
	const char *name; /* "hub", "tun", ... */
	/* An uplink packet (len bytes) of port from that the mode passed, for dst: on its way (0;
	 * a tunnel it went into counted it), or the drop reason (enum dp_drop), which the data
	 * plane counts. arg is the sink's own. */
	int (*output)(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt,
	    size_t len, const struct dp_dest *dst);
	/* An error answer (len bytes) about a packet the sink side handed in with
	 * dataplane_downlink(), back to that side: 0 or the drop reason. NULL for a sink that
	 * hands in nothing (the hub). */
	int (*answer)(void *arg, const uint8_t *pkt, size_t len);
	void *arg;
};

/* The hub: to the tunnel owning dst (dataplane_forward()), else DP_DROP_NO_ROUTE;
 * DP_DROP_ISOLATED between clients of a pool with isolate_clients. */
extern const struct dp_sink dataplane_hub;

#endif
