/* Generic segmentation offload, done here: a TCP super-packet a TUN device with offloads hands
 * over (up to 64 KiB behind a struct vnethdr, vnethdr.h) cut into the IP packets the kernel
 * would have sent had it not left the cutting to us, and the checksum the kernel left partial
 * completed. Bounded by the lengths given; the header is outside input (fuzzed by
 * tests/fuzz/fuzz_gso.c).
 *
 * Each segment gets the headers of the super-packet with its own lengths, IPv4 identification
 * (the first one's plus its index, as the kernel numbers them), IPv4 header checksum and TCP
 * sequence number; FIN and PSH stay only on the last, CWR only on the first; its TCP checksum
 * is computed whole. Nothing is allocated: a segment is written into the caller's buffer. */
#ifndef LIB_GSO_H
#define LIB_GSO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tcpip.h"
#include "vnethdr.h"

struct gso {
	const uint8_t *pkt;
	size_t len;
	struct tcpip t;
	size_t mss;
	size_t off; /* where the next segment's payload begins */
	unsigned i; /* the next segment's index */
	uint32_t seq;
	uint16_t id;
};

/* The packet pkt (len bytes) with header h. Without GSO: its checksum completed in place when
 * h asks for it (VNETHDR_F_NEEDS_CSUM), 0 (the packet is ready as it is); 1: a TCP
 * super-packet, whose segments gso_next() gives (pkt must stay as it is until then); or -1:
 * the header contradicts the packet (a GSO type other than TCP, a packet that is not TCP of
 * the type's IP version, a TCP header not at csum_start, a gso_size of 0, a checksum place
 * outside the packet): drop it. */
int gso_start(struct gso *g, const struct vnethdr *h, uint8_t *pkt, size_t len);

/* The next segment of the super-packet into out (cap bytes): its length, 0 when there is no
 * more, or -1 when it does not fit in cap (the rest of the super-packet is then given up). */
ssize_t gso_next(struct gso *g, uint8_t *out, size_t cap);

#endif
