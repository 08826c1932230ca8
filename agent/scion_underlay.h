/* The scion sink (dpsink.h): the SCION underlay, the AS's IP network between the gateway, the
 * AS's border routers and its end hosts.
 *
 *   uplink    a SCION packet that scion mode passed goes out unchanged as the payload of one
 *             UDP datagram: to the border router that owns the interface it leaves the AS by
 *             (its current hop field's, from a topology file or one router for every
 *             interface); one for the local ISD-AS (the topology's, or the sending tunnel's
 *             pool's without a topology) straight to its destination host, at its UDP
 *             destination port when that is in the dispatched range, else at the end-host port
 *             30041 — or, when a tunnel of this agent owns that host, into that tunnel at once,
 *             as the network would bring it back here. Datagrams are queued and leave in one
 *             sendmmsg when the caller flushes (after each read of the QUIC socket).
 *   downlink  datagrams received on the end-host port and on each port of the dispatched range
 *             (batches, recvmmsg) are handed to dataplane_downlink() of the scion data plane,
 *             which dispatches them to tunnels by destination (dp_scion.c).
 *
 * Buffers are allocated once, at scion_underlay_open(): nothing per packet. */
#ifndef AGENT_SCION_UNDERLAY_H
#define AGENT_SCION_UNDERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "dataplane.h"
#include "dpsink.h"

#define SCION_UNDERLAY_BATCH 32 /* datagrams per receive batch, and per send */
#define SCION_UNDERLAY_ROUNDS 8 /* receive batches per readiness of a socket */
#define SCION_UNDERLAY_PORTS_MAX 4096 /* ports in the dispatched range */

struct scion_underlay_config {
	const char *topology; /* --scion-topology FILE; NULL: router for every interface */
	const char *router; /* --scion-router HOST:PORT (numeric); NULL: topology */
	const char *bind; /* --scion-bind: the numeric address the sockets are bound to */
	uint16_t port; /* --scion-port, the end-host port (SCION_PORT_ENDHOST by default) */
	uint16_t ports_lo, ports_hi; /* --scion-ports LO-HI; ports_lo 0: none */
};

struct scion_underlay_stats {
	uint64_t tx_packets, tx_bytes; /* sent to routers and hosts */
	uint64_t tx_errors; /* refused by the socket (its buffer full, no route, ...) */
	uint64_t rx_packets, rx_bytes; /* received, whatever became of them */
	uint64_t local; /* uplink packets for the local ISD-AS sent to their host */
	uint64_t hairpin; /* of those, the ones a tunnel of this agent owned (never sent) */
};

struct scion_underlay;

/* Read the topology (or take the router), open and bind the sockets (non-blocking). NULL with
 * the reason in why (whylen bytes), naming the option and quoting its value. Free with
 * scion_underlay_close() (NULL is fine). */
struct scion_underlay *scion_underlay_open(
    const struct scion_underlay_config *cfg, char *why, size_t whylen);
void scion_underlay_close(struct scion_underlay *u);

/* The struct dp_sink of u, for dataplane_new() with dp_scion_mode. */
void scion_underlay_sink(struct scion_underlay *u, struct dp_sink *out);

/* The sockets' descriptors (for the event loop): *fds (u's, valid while it lives), the count. */
size_t scion_underlay_fds(const struct scion_underlay *u, const int **fds);

/* Read what socket fd (one of u's) has, at most SCION_UNDERLAY_ROUNDS batches, each packet
 * into dataplane_downlink(dp). The number of datagrams read, or -errno of a failed read. */
int scion_underlay_read(struct scion_underlay *u, int fd, struct dataplane *dp);

/* Send the queued uplink datagrams (one sendmmsg). */
void scion_underlay_flush(struct scion_underlay *u);

/* The topology's ISD-AS, or 0 without a topology (then each tunnel's pool's is local). */
uint64_t scion_underlay_isd_as(const struct scion_underlay *u);

/* The agent's own address on the underlay: the bound one, or for a wildcard the source address
 * the kernel picks toward the (first) border router. 0, or -1 when there is none. */
int scion_underlay_local(const struct scion_underlay *u, struct addr *out);

/* The bound end-host socket, as text ("127.0.0.1:30041"), into buf (SOCKADDR_STRLEN bytes). */
void scion_underlay_name(const struct scion_underlay *u, char *buf, size_t len);

void scion_underlay_stats(const struct scion_underlay *u, struct scion_underlay_stats *out);

#endif
