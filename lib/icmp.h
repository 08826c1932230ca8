/* ICMP errors a tunnel endpoint answers with when it cannot forward an IP packet, and the hop
 * count a router takes off: pure functions over bytes, bounded by the lengths given (fuzzed by
 * tests/fuzz/fuzz_icmp.c).
 *
 *   too big        ICMPv4 type 3 code 4 "fragmentation needed" (RFC 1191) with the next-hop
 *                  MTU (16 bits: a larger mtu is written as 65535), or ICMPv6 type 2 "packet
 *                  too big" (RFC 8201) with the MTU as given (hosts ignore one below 1280);
 *                  for IPv4 only about a packet with DF set (one without DF the caller may
 *                  fragment or drop).
 *   time exceeded  ICMPv4 type 11 code 0, ICMPv6 type 3 code 0: the hop count ran out here.
 *
 * Never an error about an ICMP error (RFC 1122 3.2.2, RFC 4443 2.4 e): no answer about
 *   - an ICMPv4 error (types 3, 4, 5, 11, 12) or ICMPv6 error (types below 128), found after
 *     the IPv6 extension headers (at most 8 walked: a longer or cut chain gets no answer);
 *   - a non-first fragment (IPv4 fragment offset not 0, an IPv6 fragment header with one);
 *   - a packet from an address that is no single host: IPv4 0/8, 127/8, 224/4 and 240/4
 *     (255.255.255.255 included), IPv6 ::, ::1 and ff00::/8;
 *   - a packet to IPv4 0/8, 224/4 or 255.255.255.255, IPv6 ::, or an IPv6 multicast group
 *     except "packet too big" (RFC 4443 2.4 e.2: path MTU discovery for multicast). A subnet's
 *     directed broadcast looks like any host address to us (only the subnet's routers know
 *     its length) and gets an answer.
 * The answer quotes as much of the offending packet as fits: 576 bytes in all for IPv4
 * (RFC 1812 4.3.2.3), 1280 for IPv6 (RFC 4443 2.4 c). Source: the address the caller gives
 * (the gateway's), destination: the offending packet's source. IPv4: TTL 64, precedence 6
 * (TOS 0xc0, RFC 1812 4.3.2.5), identification 0, DF clear, no options; IPv6: hop limit 64,
 * traffic class and flow label 0, no extension headers. Checksums are filled in. */
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
 * packet pkt (IPv4 or IPv6; the caller has parsed it as one whole packet, but only len is
 * trusted), sourced from src (of the packet's family); mtu is the MTU to report for
 * ICMP_TOO_BIG. The answer's length (a whole IP packet), or 0 when no answer may be sent (see
 * above: errors about errors, multicast, fragments, IPv4 without DF for ICMP_TOO_BIG, a src of
 * the other family, a header that does not fit in len). */
size_t icmp_error(enum icmp_err kind, const uint8_t *pkt, size_t len, const struct addr *src,
    unsigned mtu, uint8_t *out);

/* Take one off the TTL (IPv4, updating the header checksum incrementally, RFC 1624) or hop limit
 * (IPv6) of the len-byte packet pkt in place: 0, or -1 when it was 1 or 0 already (the caller
 * answers ICMP_TIME_EXCEEDED and drops it; pkt unchanged) or the packet is too short. */
int icmp_hop_decrement(uint8_t *pkt, size_t len);

#endif
