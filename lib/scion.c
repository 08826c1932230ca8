#include <string.h>

#include "be.h"
#include "csum.h"
#include "scion.h"

#define ADDR_OFF 12 /* the address header, right after the common header */
#define SRC_IA_OFF 20
#define HOSTS_OFF 28 /* the destination host, after both ISD-AS */
#define IA_PAIR_LEN 16
#define PATH_TYPE_OFF 8
#define META_LEN 4
#define INFO_LEN 8
#define HOP_LEN 12
#define HOPS_MAX 64 /* CurrHF has 6 bits: a longer path cannot be followed to its end */
#define UDP_HDR 8
#define SCMP_HDR 4 /* type, code, checksum */

/* SCMP types the dispatch reads; an error's quote follows its type's own fields. */
#define SCMP_DEST_UNREACHABLE 1
#define SCMP_PACKET_TOO_BIG 2
#define SCMP_PARAM_PROBLEM 4
#define SCMP_EXT_IF_DOWN 5
#define SCMP_INT_CONN_DOWN 6
#define SCMP_ECHO_REQUEST 128
#define SCMP_ECHO_REPLY 129
#define SCMP_TRACEROUTE_REQUEST 130
#define SCMP_TRACEROUTE_REPLY 131
#define SCMP_ECHO_LEN 8 /* header, identifier, sequence number */
#define SCMP_TRACEROUTE_LEN 24 /* header, identifier, sequence number, ISD-AS, interface */
#define SCMP_ID_OFF 4

/* Host address bytes of family 4 or 6 at p into a, the rest of a->b zero. The two sizes are
 * spelled out so that each copy is a couple of moves: this runs for every uplink packet. */
static void
host_read(struct addr *a, int family, const uint8_t *p)
{
	a->family = family;
	if (family == 4) {
		memset(a->b, 0, sizeof(a->b));
		memcpy(a->b, p, 4);
	} else {
		memcpy(a->b, p, 16);
	}
}

/* Whether the host address at p (family) is a. */
static int
host_equal(const struct addr *a, int family, const uint8_t *p)
{
	if (a->family != family)
		return 0;
	return family == 4 ? memcmp(a->b, p, 4) == 0 : memcmp(a->b, p, 16) == 0;
}

/* A DT/DL or ST/SL nibble (type in the high two bits, length in the low two): 4 or 6 for an
 * IP address, 0 for a service address, -1 for a combination the specification leaves
 * reserved. */
static int
host_family(unsigned tl)
{
	switch (tl) {
	case 0x0: return 4;
	case 0x3: return 6;
	case 0x4: return 0;
	default: return -1;
	}
}

/* Bytes of the host address of nibble tl: 4, 8, 12 or 16, whatever its type. */
static size_t
host_len(unsigned tl)
{
	return 4 * ((size_t)(tl & 3) + 1);
}

/* Checks 1 and 2 of scion_uplink_check (lib/scion.h): the common header and the address
 * header into *h (every field set: what a failed check leaves unread is 0; h->path_len is the
 * room the header leaves for the path). 0, or the problem with *pointer. Field by field rather
 * than a memset, and inline, so that the fields stay in registers for the checks after it:
 * with a memset, a call and a memcmp of variable length the uplink check took 21 ns a packet
 * here, like this 8.5 (tests/bench/bench_scion.c). */
static inline int
scion_decode(const uint8_t *pkt, size_t len, struct scion_hdr *h, unsigned *pointer)
{
	unsigned dtl, stl;
	int dfam, sfam;

	h->next_hdr = h->path_type = 0;
	h->hdr_len = h->payload_len = h->src_host_off = h->path_off = h->path_len = 0;
	h->dst_ia = h->src_ia = 0;
	h->dst.family = h->src.family = 0;
	h->curr_inf = h->curr_hf = 0;
	h->egress_if = 0;
	*pointer = 0;
	if (len < SCION_COMMON_LEN || pkt[0] >> 4 != 0)
		return SCION_BAD_COMMON_HDR;
	h->next_hdr = pkt[4];
	h->hdr_len = (size_t)pkt[5] * 4;
	h->payload_len = be_get16(pkt + 6);
	h->path_type = pkt[PATH_TYPE_OFF];
	if (h->hdr_len < SCION_MIN_HDR_LEN || h->hdr_len > len)
		return SCION_BAD_COMMON_HDR;

	*pointer = ADDR_OFF;
	dtl = pkt[9] >> 4;
	stl = pkt[9] & 0xf;
	if ((dfam = host_family(dtl)) < 0)
		return SCION_BAD_ADDR_HDR;
	h->src_host_off = HOSTS_OFF + host_len(dtl);
	h->path_off = h->src_host_off + host_len(stl);
	if (h->path_off > h->hdr_len)
		return SCION_BAD_ADDR_HDR;
	h->path_len = h->hdr_len - h->path_off;
	h->dst_ia = be_get64(pkt + ADDR_OFF);
	h->src_ia = be_get64(pkt + SRC_IA_OFF);
	if (dfam != 0)
		host_read(&h->dst, dfam, pkt + HOSTS_OFF);
	/* A reserved source type is the source check's to refuse (check 3), not the layout's. */
	if ((sfam = host_family(stl)) > 0)
		host_read(&h->src, sfam, pkt + h->src_host_off);
	*pointer = 0;
	return 0;
}

/* Check 5 of scion_uplink_check: the standard path at h->path_off, within h->hdr_len. Fills
 * h->curr_inf, curr_hf, path_len (the meta header, info and hop fields) and egress_if; 0, or
 * -1 when the path is not well formed. */
static int
scion_standard_path(const uint8_t *pkt, struct scion_hdr *h)
{
	const uint8_t *path = pkt + h->path_off, *inf, *hop;
	size_t room = h->hdr_len - h->path_off;
	unsigned s0, s1, s2, nseg, first, end;
	uint32_t meta;

	if (room < META_LEN)
		return -1;
	meta = be_get32(path);
	h->curr_inf = meta >> 30;
	h->curr_hf = (meta >> 24) & 0x3f;
	s0 = (meta >> 12) & 0x3f;
	s1 = (meta >> 6) & 0x3f;
	s2 = meta & 0x3f;
	/* A used segment after an empty one would leave the info fields out of line with
	 * SegLen; no segment at all is no path. */
	if (s0 == 0 || (s1 == 0 && s2 != 0) || s0 + s1 + s2 > HOPS_MAX)
		return -1;
	nseg = 1 + (s1 != 0) + (s2 != 0);
	/* The current hop field must belong to the current segment (as routers require), which
	 * also keeps it below the number of hop fields. */
	switch (h->curr_inf) {
	case 0: first = 0, end = s0; break;
	case 1: first = s0, end = s0 + s1; break;
	case 2: first = s0 + s1, end = s0 + s1 + s2; break;
	default: return -1;
	}
	if (h->curr_hf < first || h->curr_hf >= end)
		return -1;
	h->path_len = META_LEN + (size_t)nseg * INFO_LEN + (size_t)(s0 + s1 + s2) * HOP_LEN;
	if (h->path_len > room)
		return -1;
	inf = path + META_LEN + (size_t)h->curr_inf * INFO_LEN;
	hop = path + META_LEN + (size_t)nseg * INFO_LEN + (size_t)h->curr_hf * HOP_LEN;
	/* Along the construction direction (C set) the packet leaves by the hop's egress;
	 * against it, by what beaconing saw as the ingress. */
	h->egress_if = be_get16(hop + (inf[0] & 1 ? 4 : 2));
	return 0;
}

int
scion_uplink_check(const uint8_t *pkt, size_t len, uint64_t ia, const struct addr *host,
    struct scion_hdr *h, unsigned *pointer)
{
	int rv;

	if ((rv = scion_decode(pkt, len, h, pointer)) != 0)
		return rv;

	*pointer = SRC_IA_OFF;
	if (h->src_ia != ia)
		return SCION_BAD_SRC_ADDR;
	*pointer = (unsigned)h->src_host_off;
	if (h->src.family == 0 || !host_equal(host, h->src.family, pkt + h->src_host_off))
		return SCION_BAD_SRC_ADDR;

	if (h->path_type != SCION_PATH_STANDARD) {
		*pointer = PATH_TYPE_OFF;
		return SCION_UNKNOWN_PATH;
	}
	*pointer = (unsigned)h->path_off;
	if (scion_standard_path(pkt, h) != 0)
		return SCION_BAD_PATH;
	if (h->path_off + h->path_len != h->hdr_len)
		return SCION_BAD_PATH;
	if (len != h->hdr_len + h->payload_len)
		return SCION_BAD_SIZE;
	*pointer = 0;
	return 0;
}

/* Skip the extension header nh at *off when it is ext: 0 (nh and *off moved past it, or left
 * alone for another header), or -1 when it is cut by len. */
static int
scion_skip_ext(const uint8_t *pkt, size_t len, uint8_t ext, uint8_t *nh, size_t *off)
{
	size_t n;

	if (*nh != ext)
		return 0;
	if (len - *off < 2)
		return -1;
	n = ((size_t)pkt[*off + 1] + 1) * 4;
	if (n > len - *off)
		return -1;
	*nh = pkt[*off];
	*off += n;
	return 0;
}

int
scion_upper_layer(const uint8_t *pkt, size_t len, size_t off, uint8_t nh, size_t *l4_off)
{
	if (off > len || scion_skip_ext(pkt, len, SCION_PROTO_HBH, &nh, &off) != 0 ||
	    scion_skip_ext(pkt, len, SCION_PROTO_E2E, &nh, &off) != 0)
		return -1;
	/* Another extension header here is a second one or one out of order. */
	if (nh == SCION_PROTO_HBH || nh == SCION_PROTO_E2E)
		return -1;
	*l4_off = off;
	return nh;
}

/* The key of an SCMP error whose quote is the qlen bytes at q (the offending packet, cut
 * anywhere): the quoted UDP header's source port, or a quoted echo or traceroute request's
 * identifier; else SCION_DISPATCH_HOST. The quote's path and lengths are not checked: the
 * packet was ours, and only the port is read from it. */
static int
scion_quote_key(const uint8_t *q, size_t qlen, uint16_t *port)
{
	size_t l4;

	if (qlen < SCION_COMMON_LEN || q[0] >> 4 != 0 || (size_t)q[5] * 4 < SCION_MIN_HDR_LEN)
		return SCION_DISPATCH_HOST;
	switch (scion_upper_layer(q, qlen, (size_t)q[5] * 4, q[4], &l4)) {
	case SCION_PROTO_UDP:
		if (qlen - l4 < 2)
			break;
		*port = be_get16(q + l4);
		return SCION_DISPATCH_SCMP_QUOTE;
	case SCION_PROTO_SCMP:
		if (qlen - l4 < SCMP_ID_OFF + 2 ||
		    (q[l4] != SCMP_ECHO_REQUEST && q[l4] != SCMP_TRACEROUTE_REQUEST))
			break;
		*port = be_get16(q + l4 + SCMP_ID_OFF);
		return SCION_DISPATCH_SCMP_ID;
	default: break;
	}
	return SCION_DISPATCH_HOST;
}

/* The key of the SCMP message m of mlen bytes; -1 when it is too short for its type. */
static int
scion_scmp_key(const uint8_t *m, size_t mlen, uint16_t *port)
{
	size_t quote;

	if (mlen < SCMP_HDR)
		return -1;
	switch (m[0]) {
	case SCMP_ECHO_REQUEST:
	case SCMP_ECHO_REPLY:
		if (mlen < SCMP_ECHO_LEN)
			return -1;
		*port = be_get16(m + SCMP_ID_OFF);
		return SCION_DISPATCH_SCMP_ID;
	case SCMP_TRACEROUTE_REQUEST:
	case SCMP_TRACEROUTE_REPLY:
		if (mlen < SCMP_TRACEROUTE_LEN)
			return -1;
		*port = be_get16(m + SCMP_ID_OFF);
		return SCION_DISPATCH_SCMP_ID;
	case SCMP_DEST_UNREACHABLE:
	case SCMP_PACKET_TOO_BIG:
	case SCMP_PARAM_PROBLEM: quote = 8; break;
	case SCMP_EXT_IF_DOWN: quote = 20; break; /* + originator ISD-AS, interface */
	case SCMP_INT_CONN_DOWN: quote = 28; break; /* + ISD-AS, ingress, egress interface */
	default:
		/* Another informational message has no identifier; an error of a type we do not
		 * know has its quote at an offset we do not know. */
		return SCION_DISPATCH_HOST;
	}
	if (mlen < quote)
		return -1;
	return scion_quote_key(m + quote, mlen - quote, port);
}

int
scion_dispatch_key(const uint8_t *pkt, size_t len, struct scion_hdr *h, uint16_t *port)
{
	unsigned pointer;
	size_t l4;

	*port = 0;
	if (scion_decode(pkt, len, h, &pointer) != 0 || h->dst.family == 0 ||
	    len != h->hdr_len + h->payload_len)
		return -1;
	switch (scion_upper_layer(pkt, len, h->hdr_len, h->next_hdr, &l4)) {
	case SCION_PROTO_UDP:
		if (len - l4 < UDP_HDR)
			return -1;
		*port = be_get16(pkt + l4 + 2);
		return SCION_DISPATCH_UDP;
	case SCION_PROTO_SCMP: return scion_scmp_key(pkt + l4, len - l4, port);
	default: return -1;
	}
}

uint16_t
scion_l4_checksum(const uint8_t *pkt, size_t len, const uint8_t *l4, size_t l4_len, uint8_t proto)
{
	uint8_t tail[8] = {0};
	size_t alen;
	uint32_t sum;

	if (len < SCION_COMMON_LEN)
		return 0xffff;
	alen = IA_PAIR_LEN + host_len(pkt[9] >> 4) + host_len(pkt[9] & 0xf);
	if (alen > len - ADDR_OFF)
		return 0xffff;
	tail[0] = (uint8_t)((uint64_t)l4_len >> 24);
	tail[1] = (uint8_t)(l4_len >> 16);
	tail[2] = (uint8_t)(l4_len >> 8);
	tail[3] = (uint8_t)l4_len;
	tail[7] = proto;
	/* The address header is a multiple of 4 bytes: the pieces join without padding. */
	sum = csum_add(0, pkt + ADDR_OFF, alen);
	sum = csum_add(sum, tail, sizeof(tail));
	sum = csum_add(sum, l4, l4_len);
	return csum_fold(sum);
}
