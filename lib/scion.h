/* SCION packets as one snap-tun datagram carries them in scion mode (proto/README.md §1.6): the
 * uplink checks a SNAP gateway makes, the key a packet from the underlay is dispatched by, and
 * the SCMP Parameter Problem a violation is answered with. Pure functions over bytes, bounded by
 * the lengths given (fuzzed by tests/fuzz/fuzz_scion.c); no allocation.
 *
 * Layout (SCION data plane specification): a 12-byte common header (version 4 bits, traffic
 * class, flow id; NextHdr; HdrLen in 4-byte units; PayloadLen; PathType; DT/DL/ST/SL; reserved),
 * the address header (DstISD-AS, SrcISD-AS, 8 bytes each, then the destination and source host
 * addresses, 4 * (DL + 1) and 4 * (SL + 1) bytes; type 0 with length 0 is IPv4, type 0 with
 * length 3 is IPv6, type 1 a service address), the path up to HdrLen * 4, then the payload
 * (extension headers, then UDP or SCMP). The standard path (type 1) is a 4-byte meta header
 * (CurrINF 2 bits, CurrHF 6, reserved 6, SegLen[3] 6 each), one 8-byte info field per non-empty
 * segment, then 12-byte hop fields, sum(SegLen) of them. An info field's C flag (ConsDir) is
 * bit 0 of its first byte; a hop field holds ConsIngress at bytes 2-3 and ConsEgress at 4-5.
 * Extension headers (hop-by-hop 200, then end-to-end 201, at most one of each) are NextHdr,
 * ExtLen, options: (ExtLen + 1) * 4 bytes. SCMP is type, code, checksum, then the type's fields;
 * types below 128 are errors, which quote the offending packet.
 *
 * lib/scion.c reads packets; lib/scion_scmp.c writes the one packet a gateway originates, the
 * SCMP answer. Both are declared here. */
#ifndef LIB_SCION_H
#define LIB_SCION_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SCION_COMMON_LEN 12
#define SCION_MIN_HDR_LEN 36 /* common + the IAs + two IPv4 hosts */
#define SCION_SCMP_MAX 1232 /* the largest SCMP answer (quote cut to fit) */
#define SCION_PORT_ENDHOST 30041 /* the end-host port of the dispatcher-less model */

#define SCION_PROTO_UDP 17
#define SCION_PROTO_HBH 200
#define SCION_PROTO_E2E 201
#define SCION_PROTO_SCMP 202

#define SCION_PATH_EMPTY 0
#define SCION_PATH_STANDARD 1

/* SCMP Parameter Problem (type 4) codes the uplink checks answer with. */
enum scion_problem {
	SCION_BAD_COMMON_HDR = 16, /* pointer 0 */
	SCION_BAD_SIZE = 19, /* pointer = path start */
	SCION_UNKNOWN_PATH = 20, /* pointer 8 */
	SCION_BAD_ADDR_HDR = 32, /* pointer 12 */
	SCION_BAD_SRC_ADDR = 33, /* pointer = the offending field (source IA or host) */
	SCION_BAD_PATH = 48, /* pointer = path start */
};

/* What the decoder learnt of a packet; valid as far as the check that filled it got. */
struct scion_hdr {
	uint8_t next_hdr;
	size_t hdr_len; /* bytes: HdrLen * 4 */
	size_t payload_len;
	uint8_t path_type;
	uint64_t dst_ia, src_ia;
	struct addr dst, src; /* family 0: not an IP host address (a service address) */
	size_t src_host_off; /* where the source host address starts */
	size_t path_off, path_len;
	/* standard path: the current info and hop field and the interface the packet leaves the
	 * local AS by (the current hop field's ConsEgress when the info field's C flag is set,
	 * else its ConsIngress); 0 for another path type */
	unsigned curr_inf, curr_hf;
	uint16_t egress_if;
};

/* Check a datagram of a tunnel whose assigned address is (ia, host), in the order of
 * proto/README.md §1.6: 0 with *h filled, or the enum scion_problem with *pointer (a byte
 * offset into pkt) for the Parameter Problem answer. Checks: common header (version 0,
 * len >= 12, HdrLen * 4 >= 36), address header within HdrLen, source = (ia, host) exactly
 * (no v4-mapped equivalence), standard path well formed (meta header present, no empty segment
 * before a used one, at most 3 segments and 64 hop fields, CurrINF/CurrHF inside, fits
 * HdrLen), any other path type refused, no bytes between the path's end and HdrLen, and
 * len == HdrLen * 4 + PayloadLen.
 *
 * In detail, in this order (the table of proto/README.md §1.6; the path type is read where
 * the path starts, before its contents, so an unknown path type is never reported as a bad
 * standard path); the first failure wins:
 *   1. SCION_BAD_COMMON_HDR, pointer 0: len < 12, version not 0, HdrLen * 4 < 36, or a
 *      header longer than the datagram (HdrLen * 4 > len: the later checks would have
 *      nothing to read, and the length the common header declares is what is wrong);
 *   2. SCION_BAD_ADDR_HDR, pointer 12: the address header does not fit in HdrLen * 4, or the
 *      destination's DT/DL is none of IPv4, IPv6, service address;
 *   3. SCION_BAD_SRC_ADDR: the source ISD-AS is not ia (pointer 20, the SrcISD-AS field: the
 *      assigned address is an (ISD-AS, host) pair), or the source host is not host: a service
 *      address, a reserved ST/SL, the other family or other bytes (pointer h->src_host_off);
 *   4. SCION_UNKNOWN_PATH, pointer 8: a path type other than the standard one (empty, one-hop,
 *      EPIC, ...);
 *   5. SCION_BAD_PATH, pointer h->path_off: no room for the meta header, an empty segment
 *      before a used one, no segment at all, more than 64 hop fields, CurrINF not below the
 *      number of segments, CurrHF not inside the current segment (so not below the number
 *      of hop fields either), or the info and hop fields do not fit in HdrLen * 4 (a fourth
 *      segment cannot be written: its bytes are left over, the next check);
 *   6. SCION_BAD_PATH, pointer h->path_off: bytes left between the path's end and HdrLen * 4;
 *   7. SCION_BAD_SIZE, pointer h->path_off: len != HdrLen * 4 + PayloadLen.
 * So every pointer is at most len (it equals len only for a meta header missing at the very
 * end of the datagram). On 0, *pointer is 0 and h->egress_if is the interface the packet
 * leaves the source AS by. host must be of family 4 or 6 (anything else matches no packet). */
int scion_uplink_check(const uint8_t *pkt, size_t len, uint64_t ia, const struct addr *host,
    struct scion_hdr *h, unsigned *pointer);

/* How a packet from the underlay is dispatched to a tunnel. */
enum scion_dispatch {
	SCION_DISPATCH_UDP = 1, /* *port: the UDP destination port */
	SCION_DISPATCH_SCMP_ID, /* *port: an SCMP echo/traceroute request or reply's identifier */
	SCION_DISPATCH_SCMP_QUOTE, /* *port: the source port of the UDP packet an SCMP error quotes */
	SCION_DISPATCH_HOST, /* no port (another SCMP error, an SCMP info without identifier):
				 the destination host decides alone */
};

/* Decode a packet from the underlay: the enum scion_dispatch with *h filled (its destination
 * host address in h->dst) and *port, or -1 when it is malformed (lengths inconsistent, not an
 * IP destination host) or carries neither UDP nor SCMP after its extension headers. The path
 * is not checked (the network made it).
 *
 * Malformed: what scion_uplink_check's checks 1 and 2 refuse, a destination that is a service
 * address, len != HdrLen * 4 + PayloadLen, an extension header cut, repeated or out of order,
 * a UDP header shorter than 8 bytes, an SCMP message too short for its own fields (echo 8
 * bytes, traceroute 24, errors 8, External Interface Down 20, Internal Connectivity Down 28).
 * Keys: UDP, its destination port; SCMP echo and traceroute (128-131), the identifier; an SCMP
 * error of a known type (1, 2, 4, 5, 6) whose quote (the offending packet, cut anywhere)
 * reaches the quoted UDP header's source port, that port (SCION_DISPATCH_SCMP_QUOTE); one
 * quoting an echo or traceroute request our host sent, that request's identifier
 * (SCION_DISPATCH_SCMP_ID); any other SCMP message SCION_DISPATCH_HOST with *port 0.
 * h->curr_inf, curr_hf and egress_if are 0; h->path_len is the bytes between the address
 * header and HdrLen * 4. */
int scion_dispatch_key(const uint8_t *pkt, size_t len, struct scion_hdr *h, uint16_t *port);

/* Write into out (SCION_SCMP_MAX bytes) the SCMP Parameter Problem (type 4) with code and
 * pointer about the len-byte packet pkt, from (src_ia, src) to (dst_ia, dst) over the empty
 * path, quoting as much of pkt as fits, checksum filled in (pseudo-header, protocol 202). Its
 * length, or 0 when none may be sent: pkt is (or may be, being too short to tell) an SCMP error,
 * or src and dst are of families the answer cannot carry.
 *
 * "May be": pkt is shorter than 5 bytes (no NextHdr), or its NextHdr says SCMP or an extension
 * header and the SCMP type byte cannot be found: HdrLen * 4 below 36, an extension header
 * cut, repeated or out of order, or the message cut before its type. A packet whose NextHdr
 * (after the extension headers) is anything else is answered however broken it is, and so is
 * an SCMP informational message (type 128 and up). Also 0 when code is over 255 or pointer over
 * 65535 (the fields are 8 and 16 bits). The answer keeps pkt's traffic class and flow ID (as a
 * SCION router answers), so it belongs to the offending flow. Defined in lib/scion_scmp.c. */
size_t scion_param_problem(const uint8_t *pkt, size_t len, unsigned code, unsigned pointer,
    uint64_t src_ia, const struct addr *src, uint64_t dst_ia, const struct addr *dst, uint8_t *out);

/* The upper-layer checksum of the SCION packet pkt's L4 message at l4 (l4_len bytes, protocol
 * proto, checksum field included as it is): 0 when a filled-in checksum is right. With the
 * field zeroed, the value to write into it. The pseudo-header is pkt's address header (DstIA,
 * SrcIA, DstHost, SrcHost, as long as DL and SL say), l4_len in 32 bits, 3 zero bytes, proto.
 * 0xffff when that address header does not fit in len (a checksum over a non-zero proto is
 * never 0xffff: only all-zero data sums to zero). */
uint16_t scion_l4_checksum(
    const uint8_t *pkt, size_t len, const uint8_t *l4, size_t l4_len, uint8_t proto);

/* Walk the extension headers of the len-byte packet pkt whose payload starts at off with next
 * header nh: at most one hop-by-hop, then at most one end-to-end, each (ExtLen + 1) * 4 bytes.
 * The upper layer's protocol number (any but 200 and 201) with *l4_off its offset (at most
 * len; the upper layer's own length is the caller's to check), or -1 when off is past len, or
 * an extension header is cut by len, repeated or out of order. */
int scion_upper_layer(const uint8_t *pkt, size_t len, size_t off, uint8_t nh, size_t *l4_off);

#endif
