/* Where the data plane (dataplane.h) sends uplink packets once the mode has checked them: the
 * packet sink. The data plane calls it once per packet; a sink that can hand packets back (a
 * TUN device, the SCION underlay) does so with dataplane_downlink().
 *
 *   hub    to the tunnel that owns the destination address, else dropped (`no_route`): ip
 *          mode without a TUN device (dataplane_hub, dataplane.c).
 *   tun    the hub first, else the gateway's TUN device (next issue).
 *   scion  the SCION underlay next hop over UDP (with scion mode). */
#ifndef AGENT_DPSINK_H
#define AGENT_DPSINK_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "dataplane.h"

struct dp_sink {
	const char *name; /* "hub", "tun", ... */
	/* An uplink packet (len bytes) of port from that the mode passed, for host dst: on its
	 * way (0; a tunnel it went into counted it), or the drop reason (enum dp_drop), which the
	 * data plane counts. arg is the sink's own. */
	int (*output)(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt,
	    size_t len, const struct addr *dst);
	void *arg;
};

/* The hub: to the tunnel owning dst (dataplane_deliver()), else DP_DROP_NO_ROUTE. */
extern const struct dp_sink dataplane_hub;

#endif
