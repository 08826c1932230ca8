/* The packet pump between the local side and the tunnel: a TUN device (netsetup.h) or, with
 * --relay, a UDP socket whose every datagram is one packet. Reads in batches into buffers
 * allocated once; one packet is one QUIC datagram. A TUN device with offloads (lib/tun.h) may
 * give TCP super-packets, cut into their packets (lib/gso.h) each sent as one read alone would
 * be; packets for it are gathered and written at pump_flush(), a flow's consecutive TCP
 * segments joined into one write (lib/gro.h). A packet larger than the datagram room is
 * answered with ICMP too big in TUN mode (the sender's stack learns the MTU) and dropped in
 * relay mode; every drop is counted (status.h). */
#ifndef CLIENT_PUMP_H
#define CLIENT_PUMP_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/addr.h"
#include "../../lib/loop.h"
#include "netsetup.h"
#include "session.h"
#include "status.h"

struct pump_config {
	const char *relay; /* numeric HOST:PORT to bind; NULL: TUN mode */
	const char *tun_name; /* TUN mode: the device (NULL: the kernel's choice) */
};

struct pump;

/* Open the local side (the relay socket, or the TUN device without an address yet) and watch
 * it on l. NULL on failure (logged). */
struct pump *pump_new(struct loop *l, const struct pump_config *cfg);

/* Close the local side (TUN: routes and address go first). NULL is fine. */
void pump_free(struct pump *p);

/* Packets go into s from now on (NULL: none, they are dropped as down). */
void pump_attach(struct pump *p, struct session *s);

/* The tunnel is up with address a, datagram room room, and routes (TUN mode) into it; server
 * is the agent's address (routes holding it are skipped). 0, or -1 when the TUN device
 * refused the address (logged). */
int pump_up(struct pump *p, const struct addr *a, size_t room, const struct prefix *routes,
    unsigned nroutes, const struct addr *server);

/* The tunnel is down: the address and routes stay for the reconnect. */
void pump_down(struct pump *p);

/* One packet from the tunnel to the local side: written to a plain TUN device at once; to one
 * with offloads, and in relay mode, queued for the next pump_flush() (which runs by itself when
 * the queue is full). */
void pump_packet(struct pump *p, const uint8_t *pkt, size_t len);

/* Send the queued packets: relay mode, one sendmmsg; TUN with offloads, one write per
 * super-packet or lone packet. Call it after each batch from the tunnel and before sleeping. */
void pump_flush(struct pump *p);

/* Follow the datagram room (path MTU discovery raises it): call once per loop turn. */
void pump_tick(struct pump *p);

/* The device and the counters into *st. */
void pump_status(const struct pump *p, struct status *st);

#endif
