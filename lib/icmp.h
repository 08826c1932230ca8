/* ICMP errors a tunnel endpoint answers with when it cannot forward an IP packet, and the hop
 * count a router takes off: pure functions over bytes, bounded by the lengths given (fuzzed).
 *
 *   too big        ICMPv4 type 3 code 4 "fragmentation needed" (RFC 1191) with the next-hop
 *                  MTU, or ICMPv6 type 2 "packet too big" (RFC 8201) with the MTU; only for an
 *                  IPv4 packet with DF set (one without DF the caller may fragment or drop).
 *   time exceeded  ICMPv4 type 11 code 0, ICMPv6 type 3 code 0: the hop count ran out here.
 *
 * Never an error about an ICMP error (RFC 1122 3.2.2, RFC 4443 2.4 e): an ICMP error message,
 * a packet to or from a multicast/broadcast/unspecified address, or a non-first fragment gets
 * none. The answer quotes as much of the offending packet as fits: 576 bytes in all for IPv4
 * (RFC 1812 4.3.2.3), 1280 for IPv6 (RFC 4443 2.4 c). Source: the address the caller gives
 * (the gateway's), destination: the offending packet's source. */
#ifndef LIB_ICMP_H
#define LIB_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define ICMP_ERR_MAX 1280 /* the largest answer icmp_*() writes: size the output buffer so */

enum icmp_err {
	ICMP_TOO_BIG = 1,
	ICMP_TIME_EXCEEDED,
};

/* Write into out (at least ICMP_ERR_MAX bytes) the ICMP error kind about the len-byte IP
 * packet pkt (IPv4 or IPv6, already parsed as one whole packet), sourced from src (of the
 * packet's family); mtu is the MTU to report for ICMP_TOO_BIG. The answer's length, or 0 when
 * no answer may be sent (see above: errors about errors, multicast, fragments, IPv4 without DF
 * for ICMP_TOO_BIG, a src of the other family). */
size_t icmp_error(enum icmp_err kind, const uint8_t *pkt, size_t len, const struct addr *src,
    unsigned mtu, uint8_t *out);

/* Take one off the TTL (IPv4, updating the header checksum incrementally, RFC 1624) or hop limit
 * (IPv6) of the len-byte packet pkt in place: 0, or -1 when it was 1 or 0 already (the caller
 * answers ICMP_TIME_EXCEEDED and drops it; pkt unchanged) or the packet is too short. */
int icmp_hop_decrement(uint8_t *pkt, size_t len);

#endif
