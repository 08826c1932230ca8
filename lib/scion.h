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
 * segment, then 12-byte hop fields, sum(SegLen) of them. */
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
 * len == HdrLen * 4 + PayloadLen. */
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
 * is not checked (the network made it). */
int scion_dispatch_key(const uint8_t *pkt, size_t len, struct scion_hdr *h, uint16_t *port);

/* Write into out (SCION_SCMP_MAX bytes) the SCMP Parameter Problem (type 4) with code and
 * pointer about the len-byte packet pkt, from (src_ia, src) to (dst_ia, dst) over the empty
 * path, quoting as much of pkt as fits, checksum filled in (pseudo-header, protocol 202). Its
 * length, or 0 when none may be sent: pkt is (or may be, being too short to tell) an SCMP error,
 * or src and dst are of families the answer cannot carry. */
size_t scion_param_problem(const uint8_t *pkt, size_t len, unsigned code, unsigned pointer,
    uint64_t src_ia, const struct addr *src, uint64_t dst_ia, const struct addr *dst, uint8_t *out);

/* The upper-layer checksum of the SCION packet pkt's L4 message at l4 (l4_len bytes, protocol
 * proto, checksum field included as it is): 0 when a filled-in checksum is right. */
uint16_t scion_l4_checksum(
    const uint8_t *pkt, size_t len, const uint8_t *l4, size_t l4_len, uint8_t proto);

#endif
