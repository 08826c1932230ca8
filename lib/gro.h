/* Generic receive offload, done here: the packets one batch brings for a TUN device with
 * offloads (tun.h) gathered so that consecutive in-order TCP segments of one flow go to the
 * kernel as one super-packet behind a struct vnethdr (vnethdr.h), one write(2) for many
 * segments; every other packet goes alone behind a zeroed header. Packets are copied in (the
 * caller's buffers may go), into slots allocated once at gro_init: nothing per packet.
 *
 * A segment joins the last entry of its flow (same addresses and ports) when it continues it
 * exactly: IPv4 without options, IPv6 without extension headers, the next sequence number, the
 * next IPv4 identification, the same IP header otherwise (TOS, DF, TTL / traffic class, flow
 * label, hop limit), the same acknowledgment, window, urgent pointer, TCP options and flags
 * (ACK, with PSH allowed on the last), a payload of the entry's first segment's size (the last
 * may be shorter, and ends the entry), both checksums right (a joined segment's checksum is the
 * kernel's to trust, so one with a wrong one must stay alone for the kernel to drop), and the
 * whole within 64 KiB. Entries keep the order their first packets came in; within a flow the
 * order is kept. */
#ifndef LIB_GRO_H
#define LIB_GRO_H

#include <stddef.h>
#include <stdint.h>

#include "tcpip.h"
#include "vnethdr.h"

#define GRO_SLOT (VNETHDR_LEN + TCPIP_MAX) /* one entry: header and the largest packet */

struct gro_entry {
	uint8_t *buf; /* its slot: the struct vnethdr, then the packet */
	size_t len; /* of the packet */
	unsigned segs; /* packets in it */
	size_t bytes; /* the lengths of those packets added up */
	size_t seg_size; /* its first segment's payload: every segment's but the last */
	int open; /* it may take another segment */
	uint32_t next_seq;
	uint16_t next_id;
	int tcp; /* a TCP packet as tcpip.h has them: t holds its layout */
	struct tcpip t;
};

struct gro {
	struct gro_entry *e;
	unsigned n, max;
	uint8_t *mem;
};

/* Room for max entries (max > 0). 0, or -1 when out of memory. */
int gro_init(struct gro *g, unsigned max);
void gro_free(struct gro *g);

/* Take the packet pkt (len bytes). 0; -1 when it is longer than TCPIP_MAX (never taken) or all
 * entries are used (flush them with gro_finish(), write, gro_reset(), then add it again). */
int gro_add(struct gro *g, const uint8_t *pkt, size_t len);

/* Write the headers of the entries (super-packets: IP length, IPv4 header checksum, PSH of the
 * last segment, the TCP pseudo-header sum and the struct vnethdr asking the kernel for the TCP
 * checksum and the segmentation). Then entry i is g->e[i].buf, VNETHDR_LEN + g->e[i].len
 * bytes to write as they are, carrying g->e[i].segs packets. */
void gro_finish(struct gro *g);

/* Empty the entries (after they were written). */
void gro_reset(struct gro *g);

#endif
