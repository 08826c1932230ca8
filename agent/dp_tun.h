/* The tun sink (dpsink.h): the gateway's TUN device as the data plane's other side.
 *
 *   uplink    a packet for an address a tunnel owns goes into that tunnel (dataplane_forward()),
 *             except between clients of a pool with isolate_clients: those, and every packet
 *             for an address no tunnel owns, are written to the TUN device, where the kernel
 *             routes them on (the host sees them; one it routes back to the device is dropped
 *             there: dataplane_downlink()).
 *   downlink  packets the kernel routes to the device are read in batches (dp_tun_read(), when
 *             the event loop says the descriptor is readable) and handed to
 *             dataplane_downlink(); ICMP errors about them are written back to the device.
 *
 * With offloads (lib/tun.h tun_open_offload) a read may be a TCP super-packet, cut into its IP
 * packets (lib/gso.h) each handed to dataplane_downlink() as a packet read alone would be; and
 * uplink packets for the device wait until dp_tun_flush() (after the turn's QUIC reads), where
 * consecutive segments of a flow go in one write as a super-packet (lib/gro.h).
 *
 * Buffers are allocated once, at dp_tun_new(): nothing per packet. */
#ifndef AGENT_DP_TUN_H
#define AGENT_DP_TUN_H

#include <stddef.h>

#include "dataplane.h"
#include "dpsink.h"

#define DP_TUN_BATCH 32 /* packets per read batch */
#define DP_TUN_GRO 16 /* offloads: super-packets waiting for dp_tun_flush() */

struct dp_tun;

/* The sink for the TUN device descriptor fd (non-blocking; the caller's, closed by it) whose MTU
 * is mtu (packets longer than that are not read whole), opened with offloads when offload is 1.
 * NULL when out of memory. */
struct dp_tun *dp_tun_new(int fd, size_t mtu, int offload);
void dp_tun_free(struct dp_tun *t);

/* The struct dp_sink of t, for dataplane_new(). */
void dp_tun_sink(struct dp_tun *t, struct dp_sink *out);

/* Read what the device has (at most DP_TUN_BATCH_ROUNDS batches, so that the tunnels' side is
 * served in between under load: the descriptor stays readable and the loop comes back) and hand
 * each packet to dp's downlink. The number of packets read, or -errno of a failed read. */
#define DP_TUN_BATCH_ROUNDS 8
int dp_tun_read(struct dp_tun *t, struct dataplane *dp);

/* With offloads: write the uplink packets gathered since the last call (call it once a loop
 * turn, before sleeping); a write the device refuses is counted as blocked, once per IP packet
 * (dataplane_sink_drop). Without: nothing to do. */
void dp_tun_flush(struct dp_tun *t);

#endif
