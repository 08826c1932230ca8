/* The SCMP Parameter Problem a SNAP gateway answers a refused uplink packet with (lib/scion.h,
 * scion_param_problem): the one SCION packet the gateway writes rather than reads. */
#include <string.h>

#include "be.h"
#include "scion.h"

#define SCMP_PARAM_PROBLEM 4
#define SCMP_INFO_FIRST 128 /* types below are errors */
#define SCMP_PP_HDR 8 /* type, code, checksum, reserved, pointer */
#define NEXT_HDR_OFF 4
#define HDR_LEN_OFF 5

/* The DT/DL (ST/SL) nibble of an IP host address a, and its length in *len; -1 for a family
 * an answer cannot carry. */
static int
scmp_host_type(const struct addr *a, size_t *len)
{
	switch (a->family) {
	case 4: *len = 4; return 0x0;
	case 6: *len = 16; return 0x3;
	default: return -1;
	}
}

/* Whether an error may be sent about the len-byte packet pkt: never about an SCMP error (type
 * below 128, after the extension headers), nor about a packet too short or too broken to find
 * out when its NextHdr says SCMP or an extension header that may lead to SCMP. */
static int
scmp_may_answer(const uint8_t *pkt, size_t len)
{
	size_t off, l4;
	uint8_t nh;

	if (len <= NEXT_HDR_OFF)
		return 0;
	nh = pkt[NEXT_HDR_OFF];
	if (nh != SCION_PROTO_SCMP && nh != SCION_PROTO_HBH && nh != SCION_PROTO_E2E)
		return 1;
	if (len <= HDR_LEN_OFF)
		return 0;
	/* A shorter header length would put the payload inside the headers: no telling. */
	off = (size_t)pkt[HDR_LEN_OFF] * 4;
	if (off < SCION_MIN_HDR_LEN)
		return 0;
	switch (scion_upper_layer(pkt, len, off, nh, &l4)) {
	case -1: return 0;
	case SCION_PROTO_SCMP: return l4 < len && pkt[l4] >= SCMP_INFO_FIRST;
	default: return 1;
	}
}

size_t
scion_param_problem(const uint8_t *pkt, size_t len, unsigned code, unsigned pointer,
    uint64_t src_ia, const struct addr *src, uint64_t dst_ia, const struct addr *dst, uint8_t *out)
{
	size_t dlen, slen, hdr, room, quote, plen;
	int dtl, stl;
	uint8_t *m;

	if (code > 0xff || pointer > 0xffff || !scmp_may_answer(pkt, len))
		return 0;
	if ((dtl = scmp_host_type(dst, &dlen)) < 0 || (stl = scmp_host_type(src, &slen)) < 0)
		return 0;
	hdr = SCION_COMMON_LEN + 16 + dlen + slen;
	room = SCION_SCMP_MAX - hdr - SCMP_PP_HDR;
	quote = len < room ? len : room;
	plen = SCMP_PP_HDR + quote;

	memset(out, 0, hdr + SCMP_PP_HDR);
	/* Version 0; the offending packet's traffic class and flow ID, as a SCION router keeps
	 * them in its answers (scmp_may_answer saw at least 5 bytes). */
	out[0] = pkt[0] & 0x0f;
	out[1] = pkt[1];
	out[2] = pkt[2];
	out[3] = pkt[3];
	out[4] = SCION_PROTO_SCMP;
	out[5] = (uint8_t)(hdr / 4);
	be_put16(out + 6, (unsigned)plen);
	out[8] = SCION_PATH_EMPTY;
	out[9] = (uint8_t)(dtl << 4 | stl);
	be_put64(out + 12, dst_ia);
	be_put64(out + 20, src_ia);
	memcpy(out + 28, dst->b, dlen);
	memcpy(out + 28 + dlen, src->b, slen);

	m = out + hdr;
	m[0] = SCMP_PARAM_PROBLEM;
	m[1] = (uint8_t)code;
	be_put16(m + 6, pointer);
	memcpy(m + SCMP_PP_HDR, pkt, quote);
	/* Summed with the checksum field zero, the checksum is what goes into it. */
	be_put16(m + 2, scion_l4_checksum(out, hdr + plen, m, plen, SCION_PROTO_SCMP));
	return hdr + plen;
}
