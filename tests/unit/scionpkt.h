/* SCION packets for the tests (tests/unit, tests/tools/sciontool.c, tests/bench/bench_pps.c): a
 * builder of the layout lib/scion.h describes and a reader of what comes back (an SCMP message's
 * fields, its checksum checked), written from the SCION data-plane specification apart from
 * lib/scion.c, so that the tests do not take the codec's word for what it wrote. Header-only
 * (static inline): each test program has its own copy.
 *
 * Layout: common header (12 bytes), DstISD-AS, SrcISD-AS (8 each), destination and source host
 * (4 or 16 bytes; a service address is 4 bytes of which the first 2 are its number), the path
 * (standard: 4-byte meta header, an 8-byte info field per segment, 12-byte hop fields), then
 * UDP (8-byte header) or SCMP (type, code, checksum, 4 bytes of its info block) and the
 * payload. Checksums: the Internet checksum over the pseudo-header (the ISD-ASes and hosts as
 * in the header, the upper-layer length in 32 bits, 3 zero bytes, the protocol) and the
 * upper-layer message. */
#ifndef TESTS_SCIONPKT_H
#define TESTS_SCIONPKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/addr.h"
#include "../../lib/csum.h"
#include "../../lib/isdas.h"

#define SCIONPKT_HOPS_MAX 80 /* past the 64 a path may have: tests build longer ones */
#define SCIONPKT_UDP 17
#define SCIONPKT_SCMP 202

struct scionpkt {
	uint64_t dst_ia, src_ia;
	struct addr dst, src; /* family 0: a service address, dst_svc / src_svc */
	uint16_t dst_svc, src_svc;
	uint8_t path_type; /* 1: the standard path below; anything else: no path bytes */
	unsigned seg[3]; /* hop fields of each segment */
	unsigned curr_inf, curr_hf;
	int cons_dir[3]; /* each info field's C flag */
	uint16_t ingress[SCIONPKT_HOPS_MAX], egress[SCIONPKT_HOPS_MAX]; /* each hop field's */
	uint8_t next_hdr; /* SCIONPKT_UDP or SCIONPKT_SCMP (or another number, no L4 header) */
	uint16_t sport, dport; /* UDP */
	uint8_t scmp_type, scmp_code;
	uint16_t scmp_a, scmp_b; /* the first 4 bytes of the info block: echo identifier and
				   sequence; a Parameter Problem's reserved and pointer */
	const uint8_t *payload; /* after the L4 header (an SCMP error: the quoted packet) */
	size_t payload_len;
};

static inline void
scionpkt_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline unsigned
scionpkt_get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static inline uint64_t
scionpkt_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The ISD-AS of text (a test's constant: 0 when it is no ISD-AS). */
static inline uint64_t
scionpkt_ia(const char *text)
{
	uint64_t v = 0;
	const char *why;

	isdas_parse(text, &v, &why);
	return v;
}

/* Bytes of a host address (its DT/DL field's length). */
static inline size_t
scionpkt_host_len(const struct addr *a)
{
	return a->family == 6 ? 16 : 4;
}

/* The checksum of the L4 message at pkt + l4 (to len) over the pseudo-header of the SCION
 * header at pkt: 0 for a message whose checksum field is right, else the value the field
 * should have (computed with it zero). */
static inline uint16_t
scionpkt_l4_csum(const uint8_t *pkt, size_t l4, size_t len, uint8_t proto)
{
	size_t addrs = 16 + 4 * (((size_t)pkt[9] >> 4 & 3) + 1) + 4 * (((size_t)pkt[9] & 3) + 1);
	uint8_t tail[8] = {0};
	uint32_t sum;

	tail[0] = (uint8_t)((len - l4) >> 24);
	tail[1] = (uint8_t)((len - l4) >> 16);
	tail[2] = (uint8_t)((len - l4) >> 8);
	tail[3] = (uint8_t)(len - l4);
	tail[7] = proto;
	sum = csum_add(0, pkt + 12, addrs);
	sum = csum_add(sum, tail, sizeof(tail));
	return csum_fold(csum_add(sum, pkt + l4, len - l4));
}

/* Write the packet p into out (cap bytes): its length, or 0 when it does not fit. */
static inline size_t
scionpkt_build(const struct scionpkt *p, uint8_t *out, size_t cap)
{
	size_t dl = scionpkt_host_len(&p->dst), sl = scionpkt_host_len(&p->src);
	size_t hdr = 28 + dl + sl, off, l4len, nseg = 0, nhops = 0;

	if (p->path_type == 1) {
		for (int i = 0; i < 3; i++)
			nseg += p->seg[i] != 0, nhops += p->seg[i];
		if (nhops > SCIONPKT_HOPS_MAX)
			return 0;
		hdr += 4 + 8 * nseg + 12 * nhops;
	}
	l4len = p->next_hdr == SCIONPKT_UDP ? 8 : p->next_hdr == SCIONPKT_SCMP ? 8 : 0;
	if (hdr + l4len + p->payload_len > cap || hdr / 4 > 255 || l4len + p->payload_len > 65535)
		return 0;
	memset(out, 0, hdr + l4len);
	out[3] = 1; /* a flow id: the specification wants one */
	out[4] = p->next_hdr;
	out[5] = (uint8_t)(hdr / 4);
	scionpkt_put16(out + 6, (unsigned)(l4len + p->payload_len));
	out[8] = p->path_type;
	out[9] = (uint8_t)((p->dst.family == 0          ? 1 << 6
				   : p->dst.family == 6 ? 3 << 4
							: 0) |
	    (p->src.family == 0          ? 1 << 2
		    : p->src.family == 6 ? 3
					 : 0));
	for (int i = 0; i < 8; i++) {
		out[12 + i] = (uint8_t)(p->dst_ia >> (56 - 8 * i));
		out[20 + i] = (uint8_t)(p->src_ia >> (56 - 8 * i));
	}
	if (p->dst.family != 0)
		memcpy(out + 28, p->dst.b, dl);
	else
		scionpkt_put16(out + 28, p->dst_svc);
	if (p->src.family != 0)
		memcpy(out + 28 + dl, p->src.b, sl);
	else
		scionpkt_put16(out + 28 + dl, p->src_svc);
	off = 28 + dl + sl;
	if (p->path_type == 1) {
		uint32_t meta = (uint32_t)p->curr_inf << 30 | (uint32_t)(p->curr_hf & 0x3f) << 24 |
		    (uint32_t)(p->seg[0] & 0x3f) << 12 | (uint32_t)(p->seg[1] & 0x3f) << 6 |
		    (uint32_t)(p->seg[2] & 0x3f);

		for (int i = 0; i < 4; i++)
			out[off + (size_t)i] = (uint8_t)(meta >> (24 - 8 * i));
		off += 4;
		for (size_t i = 0; i < nseg; i++, off += 8)
			out[off] = p->cons_dir[i] ? 1 : 0;
		for (size_t i = 0; i < nhops; i++, off += 12) {
			out[off + 1] = 63; /* ExpTime */
			scionpkt_put16(out + off + 2, p->ingress[i]);
			scionpkt_put16(out + off + 4, p->egress[i]);
		}
	}
	if (p->next_hdr == SCIONPKT_UDP) {
		scionpkt_put16(out + off, p->sport);
		scionpkt_put16(out + off + 2, p->dport);
		scionpkt_put16(out + off + 4, (unsigned)(8 + p->payload_len));
	} else if (p->next_hdr == SCIONPKT_SCMP) {
		out[off] = p->scmp_type;
		out[off + 1] = p->scmp_code;
		scionpkt_put16(out + off + 4, p->scmp_a);
		scionpkt_put16(out + off + 6, p->scmp_b);
	}
	if (p->payload_len > 0)
		memcpy(out + off + l4len, p->payload, p->payload_len);
	if (l4len > 0)
		scionpkt_put16(out + off + (p->next_hdr == SCIONPKT_UDP ? 6 : 2),
		    scionpkt_l4_csum(out, off, off + l4len + p->payload_len, p->next_hdr));
	return off + l4len + p->payload_len;
}

/* A packet that came back, as far as the tests look at it. */
struct scionpkt_view {
	size_t hdr_len, l4; /* the L4 header's offset (hdr_len: no extension headers here) */
	uint64_t dst_ia, src_ia;
	struct addr dst, src; /* family 0: a service address */
	uint8_t path_type, next_hdr;
	int csum_ok; /* the L4 checksum is right (UDP, SCMP) */
	uint8_t scmp_type, scmp_code;
	unsigned scmp_a, scmp_b;
	size_t quote, quote_len; /* an SCMP message's data after its 8 bytes */
};

static inline void
scionpkt_host_get(const uint8_t *p, unsigned t, unsigned l, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (t == 0 && (l == 0 || l == 3)) {
		a->family = l == 0 ? 4 : 6;
		memcpy(a->b, p, l == 0 ? 4 : 16);
	}
}

/* Read pkt (len bytes): 0 with *v, or -1 when its lengths do not add up to len or it carries
 * neither UDP nor SCMP. */
static inline int
scionpkt_read(const uint8_t *pkt, size_t len, struct scionpkt_view *v)
{
	unsigned dl, sl;

	memset(v, 0, sizeof(*v));
	if (len < 36 || pkt[0] >> 4 != 0)
		return -1;
	v->hdr_len = (size_t)pkt[5] * 4;
	if (v->hdr_len + scionpkt_get16(pkt + 6) != len || v->hdr_len + 8 > len)
		return -1;
	dl = pkt[9] >> 4 & 3, sl = pkt[9] & 3;
	if (28 + 4 * (dl + 1) + 4 * (sl + 1) > v->hdr_len)
		return -1;
	v->dst_ia = scionpkt_get64(pkt + 12);
	v->src_ia = scionpkt_get64(pkt + 20);
	scionpkt_host_get(pkt + 28, pkt[9] >> 6, dl, &v->dst);
	scionpkt_host_get(pkt + 28 + 4 * (dl + 1), pkt[9] >> 2 & 3, sl, &v->src);
	v->path_type = pkt[8];
	v->next_hdr = pkt[4];
	v->l4 = v->hdr_len;
	if (v->next_hdr != SCIONPKT_UDP && v->next_hdr != SCIONPKT_SCMP)
		return -1;
	v->csum_ok = scionpkt_l4_csum(pkt, v->l4, len, v->next_hdr) == 0;
	if (v->next_hdr == SCIONPKT_SCMP) {
		v->scmp_type = pkt[v->l4];
		v->scmp_code = pkt[v->l4 + 1];
		v->scmp_a = scionpkt_get16(pkt + v->l4 + 4);
		v->scmp_b = scionpkt_get16(pkt + v->l4 + 6);
		v->quote = v->l4 + 8;
		v->quote_len = len - v->quote;
	}
	return 0;
}

#endif
