/* TEMP: a minimal SCION codec against the contract lib/scion.h, so that the agent's scion mode
 * builds and is tested until the real one lands; this commit is dropped then. */
#include <string.h>

#include "csum.h"
#include "scion.h"

#define SRC_IA_OFF 20
#define HOSTS_OFF 28
#define META_LEN 4
#define INFO_LEN 8
#define HOP_LEN 12
#define SEGS_MAX 3
#define HOPS_MAX 64
#define SCMP_HDR_LEN 8
#define SCMP_PARAM_PROBLEM 4

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
wr64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* A host address of type t and length code l at p: an IP address, or family 0 (a service
 * address). -1 for a combination the specification does not define. */
static int
host_decode(const uint8_t *p, unsigned t, unsigned l, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (t == 0 && l == 0) {
		a->family = 4;
		memcpy(a->b, p, 4);
	} else if (t == 0 && l == 3) {
		a->family = 6;
		memcpy(a->b, p, 16);
	} else if (!(t == 1 && l == 0)) {
		return -1;
	}
	return 0;
}

/* The common and address headers: 0, or the problem code with *pointer. */
static int
decode_addrs(const uint8_t *pkt, size_t len, struct scion_hdr *h, unsigned *pointer)
{
	unsigned dt, dl, st, sl;
	size_t dlen, slen;

	memset(h, 0, sizeof(*h));
	*pointer = 0;
	if (len < SCION_COMMON_LEN || pkt[0] >> 4 != 0 || (size_t)pkt[5] * 4 < SCION_MIN_HDR_LEN)
		return SCION_BAD_COMMON_HDR;
	h->next_hdr = pkt[4];
	h->hdr_len = (size_t)pkt[5] * 4;
	h->payload_len = rd16(pkt + 6);
	h->path_type = pkt[8];
	dt = pkt[9] >> 6, dl = (pkt[9] >> 4) & 3, st = (pkt[9] >> 2) & 3, sl = pkt[9] & 3;
	dlen = 4 * ((size_t)dl + 1), slen = 4 * ((size_t)sl + 1);
	h->src_host_off = HOSTS_OFF + dlen;
	h->path_off = h->src_host_off + slen;
	*pointer = SCION_COMMON_LEN;
	if (h->path_off > h->hdr_len || h->path_off > len ||
	    host_decode(pkt + HOSTS_OFF, dt, dl, &h->dst) < 0 ||
	    host_decode(pkt + h->src_host_off, st, sl, &h->src) < 0)
		return SCION_BAD_ADDR_HDR;
	h->dst_ia = rd64(pkt + SCION_COMMON_LEN);
	h->src_ia = rd64(pkt + SRC_IA_OFF);
	return 0;
}

/* The standard path at h->path_off: 0 with its fields in h, or SCION_BAD_PATH. */
static int
decode_path(const uint8_t *pkt, size_t len, struct scion_hdr *h)
{
	size_t end = h->hdr_len < len ? h->hdr_len : len, off = h->path_off, hop;
	unsigned seg[SEGS_MAX], nseg = 0, nhops = 0, before = 0;
	uint32_t meta;

	if (off + META_LEN > end)
		return SCION_BAD_PATH;
	meta = (uint32_t)pkt[off] << 24 | (uint32_t)pkt[off + 1] << 16 |
	    (uint32_t)pkt[off + 2] << 8 | pkt[off + 3];
	h->curr_inf = meta >> 30;
	h->curr_hf = (meta >> 24) & 0x3f;
	seg[0] = (meta >> 12) & 0x3f, seg[1] = (meta >> 6) & 0x3f, seg[2] = meta & 0x3f;
	for (unsigned i = 0; i < SEGS_MAX; i++) {
		if (seg[i] == 0)
			continue;
		if (i != nseg)
			return SCION_BAD_PATH; /* a used segment after an empty one */
		nseg++;
		nhops += seg[i];
	}
	if (nseg == 0 || nhops > HOPS_MAX || h->curr_inf >= nseg)
		return SCION_BAD_PATH;
	for (unsigned i = 0; i < h->curr_inf; i++)
		before += seg[i];
	if (h->curr_hf < before || h->curr_hf >= before + seg[h->curr_inf])
		return SCION_BAD_PATH;
	h->path_len = META_LEN + (size_t)nseg * INFO_LEN + (size_t)nhops * HOP_LEN;
	if (off + h->path_len > end)
		return SCION_BAD_PATH;
	hop = off + META_LEN + (size_t)nseg * INFO_LEN + (size_t)h->curr_hf * HOP_LEN;
	h->egress_if = (pkt[off + META_LEN + h->curr_inf * INFO_LEN] & 1) ? rd16(pkt + hop + 4)
									  : rd16(pkt + hop + 2);
	return 0;
}

int
scion_uplink_check(const uint8_t *pkt, size_t len, uint64_t ia, const struct addr *host,
    struct scion_hdr *h, unsigned *pointer)
{
	int rv;

	if ((rv = decode_addrs(pkt, len, h, pointer)) != 0)
		return rv;
	if (h->src_ia != ia) {
		*pointer = SRC_IA_OFF;
		return SCION_BAD_SRC_ADDR;
	}
	if (h->src.family != host->family ||
	    memcmp(h->src.b, host->b, host->family == 4 ? 4 : 16) != 0) {
		*pointer = (unsigned)h->src_host_off;
		return SCION_BAD_SRC_ADDR;
	}
	*pointer = (unsigned)h->path_off;
	if (h->path_type != SCION_PATH_STANDARD) {
		*pointer = 8;
		return SCION_UNKNOWN_PATH;
	}
	if (decode_path(pkt, len, h) != 0 || h->path_off + h->path_len != h->hdr_len)
		return SCION_BAD_PATH;
	if (len != h->hdr_len + h->payload_len)
		return SCION_BAD_SIZE;
	return 0;
}

/* The L4 header after the extension headers from offset off on: its protocol and *off, or -1
 * when they run past len. */
static int
skip_extensions(const uint8_t *pkt, size_t len, unsigned nh, size_t *off)
{
	while (nh == SCION_PROTO_HBH || nh == SCION_PROTO_E2E) {
		if (*off + 2 > len)
			return -1;
		nh = pkt[*off];
		*off += ((size_t)pkt[*off + 1] + 1) * 4;
	}
	return *off > len ? -1 : (int)nh;
}

/* Where an SCMP error of type t quotes the offending packet (after its info block), 0 for a
 * type that names no quote we know. */
static size_t
scmp_quote_off(unsigned t)
{
	switch (t) {
	case 1: /* destination unreachable */
	case 2: /* packet too big */
	case 4: return 8; /* parameter problem */
	case 5: return 20; /* external interface down: IA, interface */
	case 6: return 28; /* internal connectivity down: IA, two interfaces */
	default: return 0;
	}
}

int
scion_dispatch_key(const uint8_t *pkt, size_t len, struct scion_hdr *h, uint16_t *port)
{
	struct scion_hdr q;
	unsigned pointer;
	size_t off, qoff;
	int nh;

	*port = 0;
	if (decode_addrs(pkt, len, h, &pointer) != 0 || h->dst.family == 0 || h->hdr_len > len ||
	    len != h->hdr_len + h->payload_len)
		return -1;
	off = h->hdr_len;
	if ((nh = skip_extensions(pkt, len, h->next_hdr, &off)) < 0)
		return -1;
	if (nh == SCION_PROTO_UDP) {
		if (off + 8 > len)
			return -1;
		*port = rd16(pkt + off + 2);
		return SCION_DISPATCH_UDP;
	}
	if (nh != SCION_PROTO_SCMP || off + 4 > len)
		return -1;
	if (pkt[off] >= 128 && pkt[off] <= 131) { /* echo, traceroute: request and reply */
		if (off + 8 > len)
			return -1;
		*port = rd16(pkt + off + 4);
		return SCION_DISPATCH_SCMP_ID;
	}
	if (pkt[off] < 128 && (qoff = scmp_quote_off(pkt[off])) != 0 && off + qoff <= len) {
		const uint8_t *quote = pkt + off + qoff;
		size_t qlen = len - off - qoff, l4;

		if (decode_addrs(quote, qlen, &q, &pointer) == 0 && q.hdr_len <= qlen) {
			l4 = q.hdr_len;
			if (skip_extensions(quote, qlen, q.next_hdr, &l4) == SCION_PROTO_UDP &&
			    l4 + 2 <= qlen) {
				*port = rd16(quote + l4);
				return SCION_DISPATCH_SCMP_QUOTE;
			}
		}
	}
	return SCION_DISPATCH_HOST;
}

/* Whether pkt is, or may be (too short to tell), an SCMP error: never answered. */
static int
maybe_scmp_error(const uint8_t *pkt, size_t len)
{
	size_t off;
	int nh;

	if (len < SCION_COMMON_LEN)
		return 1;
	off = (size_t)pkt[5] * 4;
	if ((nh = skip_extensions(pkt, len, pkt[4], &off)) < 0)
		return 1;
	if (nh != SCION_PROTO_SCMP)
		return 0;
	return off >= len || pkt[off] < 128;
}

static size_t
host_len(const struct addr *a)
{
	return a->family == 4 ? 4 : 16;
}

size_t
scion_param_problem(const uint8_t *pkt, size_t len, unsigned code, unsigned pointer,
    uint64_t src_ia, const struct addr *src, uint64_t dst_ia, const struct addr *dst, uint8_t *out)
{
	size_t hdr, quote, l4;
	uint8_t *scmp;

	if (maybe_scmp_error(pkt, len) || (src->family != 4 && src->family != 6) ||
	    (dst->family != 4 && dst->family != 6))
		return 0;
	hdr = HOSTS_OFF + host_len(dst) + host_len(src);
	quote =
	    len < SCION_SCMP_MAX - hdr - SCMP_HDR_LEN ? len : SCION_SCMP_MAX - hdr - SCMP_HDR_LEN;
	l4 = SCMP_HDR_LEN + quote;
	memset(out, 0, hdr + SCMP_HDR_LEN);
	out[3] = 1; /* a flow id, which the specification wants set */
	out[4] = SCION_PROTO_SCMP;
	out[5] = (uint8_t)(hdr / 4);
	wr16(out + 6, (unsigned)l4);
	out[8] = SCION_PATH_EMPTY;
	out[9] = (uint8_t)((dst->family == 6 ? 3 : 0) << 4 | (src->family == 6 ? 3 : 0));
	wr64(out + SCION_COMMON_LEN, dst_ia);
	wr64(out + SRC_IA_OFF, src_ia);
	memcpy(out + HOSTS_OFF, dst->b, host_len(dst));
	memcpy(out + HOSTS_OFF + host_len(dst), src->b, host_len(src));
	scmp = out + hdr;
	scmp[0] = SCMP_PARAM_PROBLEM;
	scmp[1] = (uint8_t)code;
	wr16(scmp + 6, pointer);
	memcpy(scmp + SCMP_HDR_LEN, pkt, quote);
	wr16(scmp + 2, scion_l4_checksum(out, hdr + l4, scmp, l4, SCION_PROTO_SCMP));
	return hdr + l4;
}

uint16_t
scion_l4_checksum(const uint8_t *pkt, size_t len, const uint8_t *l4, size_t l4_len, uint8_t proto)
{
	uint8_t tail[8] = {0};
	size_t addrs;
	uint32_t sum;

	if (len < SCION_COMMON_LEN)
		return 0xffff;
	addrs = 16 + 4 * ((size_t)((pkt[9] >> 4) & 3) + 1) + 4 * ((size_t)(pkt[9] & 3) + 1);
	if (SCION_COMMON_LEN + addrs > len)
		return 0xffff;
	tail[0] = (uint8_t)(l4_len >> 24);
	tail[1] = (uint8_t)(l4_len >> 16);
	tail[2] = (uint8_t)(l4_len >> 8);
	tail[3] = (uint8_t)l4_len;
	tail[7] = proto;
	sum = csum_add(0, pkt + SCION_COMMON_LEN, addrs);
	sum = csum_add(sum, tail, sizeof(tail));
	return csum_fold(csum_add(sum, l4, l4_len));
}
