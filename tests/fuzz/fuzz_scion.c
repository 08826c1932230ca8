/* Fuzzes the SCION codec (lib/scion.h): the uplink checks, the SCMP Parameter Problem, the
 * downlink dispatch key, the extension-header walk and the upper-layer checksum. The first
 * byte picks the tunnel's assigned address (bit 0: the packet's own source ISD-AS and host when
 * it has them, so that the checks past the source are reached; else a fixed one) and the
 * families of the gateway (bit 1) and the tunnel (bit 2); the rest is the packet, in a heap
 * copy of exactly its length (ASan catches any read past it).
 *
 * Invariants: a verdict is 0 or one of the six codes, with the pointer the code names, never
 * past len; a valid packet's lengths add up to len and its egress interface is the current hop
 * field's; an answer is at most 1232 bytes, quotes the packet's first bytes (all of them when
 * they fit), carries the code and pointer, verifies its checksum and is dispatched to the
 * tunnel's host, and is never answered itself; no answer about an SCMP error found without
 * extension headers; a dispatch key's port is the field it names. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/be.h"
#include "../../lib/csum.h"
#include "../../lib/scion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
addr_set(struct addr *a, int family, uint8_t fill)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memset(a->b, fill, family == 4 ? 4 : 16);
}

/* The pointer a verdict must carry, worked out again from the header bytes. */
static unsigned
expected_pointer(const uint8_t *p, int rv, unsigned got)
{
	size_t src = 28 + 4 * ((size_t)(p[9] >> 4 & 3) + 1);

	switch (rv) {
	case SCION_BAD_COMMON_HDR: return 0;
	case SCION_BAD_ADDR_HDR: return 12;
	case SCION_UNKNOWN_PATH: return 8;
	case SCION_BAD_SRC_ADDR: return got == 20 ? 20 : (unsigned)src;
	case SCION_BAD_PATH:
	case SCION_BAD_SIZE: return (unsigned)(src + 4 * ((size_t)(p[9] & 3) + 1));
	default: __builtin_trap();
	}
}

static void
check_valid(const uint8_t *p, size_t len, const struct scion_hdr *h)
{
	const uint8_t *m = p + h->path_off, *inf;
	uint32_t meta = be_get32(m);
	unsigned nseg = 0;
	size_t hop;

	if (h->hdr_len + h->payload_len != len || h->path_type != SCION_PATH_STANDARD ||
	    h->path_off + h->path_len != h->hdr_len || h->hdr_len != (size_t)p[5] * 4)
		__builtin_trap();
	for (int shift = 12; shift >= 0; shift -= 6)
		nseg += (meta >> shift & 0x3f) != 0;
	if (meta >> 30 != h->curr_inf || (meta >> 24 & 0x3f) != h->curr_hf)
		__builtin_trap();
	inf = p + h->path_off + 4 + 8 * h->curr_inf;
	hop = h->path_off + 4 + 8 * nseg + 12 * h->curr_hf;
	if (h->curr_inf >= nseg || hop + 12 > h->hdr_len ||
	    h->egress_if != be_get16(p + hop + (inf[0] & 1 ? 4 : 2)))
		__builtin_trap();
}

static void
check_answer(const uint8_t *p, size_t len, unsigned code, unsigned ptr, uint64_t gw_ia,
    const struct addr *gw, uint64_t tun_ia, const struct addr *tun)
{
	uint8_t out[SCION_SCMP_MAX], again[SCION_SCMP_MAX], pseudo[8] = {0};
	size_t n, hdr, quote;
	struct scion_hdr h;
	uint16_t port;
	uint32_t sum;

	n = scion_param_problem(p, len, code, ptr, gw_ia, gw, tun_ia, tun, out);
	/* An SCMP error right after the header (no extension headers) is never answered. */
	if (len > 5 && p[4] == SCION_PROTO_SCMP && (size_t)p[5] * 4 >= SCION_MIN_HDR_LEN &&
	    (size_t)p[5] * 4 < len && p[(size_t)p[5] * 4] < 128 && n != 0)
		__builtin_trap();
	if (n == 0)
		return;
	hdr = 28 + (tun->family == 4 ? 4 : 16) + (gw->family == 4 ? 4 : 16);
	quote = n - hdr - 8;
	if (n > SCION_SCMP_MAX || n < hdr + 8 || (size_t)out[5] * 4 != hdr ||
	    be_get16(out + 6) != n - hdr || out[4] != SCION_PROTO_SCMP ||
	    out[8] != SCION_PATH_EMPTY)
		__builtin_trap();
	if (quote > len || (quote < len && n != SCION_SCMP_MAX) || memcmp(out + hdr + 8, p, quote))
		__builtin_trap();
	if (out[hdr] != 4 || out[hdr + 1] != code || be_get16(out + hdr + 6) != ptr)
		__builtin_trap();
	if (be_get64(out + 12) != tun_ia || be_get64(out + 20) != gw_ia)
		__builtin_trap();
	/* The checksum twice: as the codec reads it, and summed here from the pieces. */
	if (scion_l4_checksum(out, n, out + hdr, n - hdr, SCION_PROTO_SCMP) != 0)
		__builtin_trap();
	pseudo[2] = (uint8_t)((n - hdr) >> 8);
	pseudo[3] = (uint8_t)(n - hdr);
	pseudo[7] = SCION_PROTO_SCMP;
	sum = csum_add(csum_add(csum_add(0, out + 12, hdr - 12), pseudo, 8), out + hdr, n - hdr);
	if (csum_fold(sum) != 0)
		__builtin_trap();
	if (scion_dispatch_key(out, n, &h, &port) < 0 || h.dst.family != tun->family ||
	    memcmp(h.dst.b, tun->b, tun->family == 4 ? 4 : 16) != 0)
		__builtin_trap();
	if (scion_param_problem(out, n, code, ptr, gw_ia, gw, tun_ia, tun, again) != 0)
		__builtin_trap();
}

static void
check_dispatch(const uint8_t *p, size_t len)
{
	struct scion_hdr h;
	uint16_t port;
	size_t l4;
	int rv = scion_dispatch_key(p, len, &h, &port);

	if (rv == -1)
		return;
	if (rv < SCION_DISPATCH_UDP || rv > SCION_DISPATCH_HOST ||
	    h.hdr_len + h.payload_len != len || (h.dst.family != 4 && h.dst.family != 6))
		__builtin_trap();
	if (scion_upper_layer(p, len, h.hdr_len, h.next_hdr, &l4) < 0 || l4 > len)
		__builtin_trap();
	if (rv == SCION_DISPATCH_UDP && port != be_get16(p + l4 + 2))
		__builtin_trap();
	if (rv == SCION_DISPATCH_SCMP_ID && p[l4] >= 128 && port != be_get16(p + l4 + 4))
		__builtin_trap();
	if (rv == SCION_DISPATCH_HOST && port != 0)
		__builtin_trap();
	(void)scion_l4_checksum(p, len, p + l4, len - l4, h.next_hdr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr host, gw, tun;
	struct scion_hdr h;
	uint64_t ia = 0x0001ff0000000110ULL;
	unsigned ptr;
	uint8_t *p;
	size_t len;
	int rv;

	if (size < 1)
		return 0;
	len = size - 1;
	p = malloc(len ? len : 1);
	memcpy(p, data + 1, len);

	addr_set(&host, 4, 10);
	if ((data[0] & 1) && len >= 28) {
		size_t off = 28 + 4 * ((size_t)(p[9] >> 4 & 3) + 1);
		int fam = (p[9] & 0xf) == 3 ? 6 : 4;

		ia = be_get64(p + 20);
		if (off + (fam == 4 ? 4 : 16) <= len) {
			host.family = fam;
			memcpy(host.b, p + off, fam == 4 ? 4 : 16);
		}
	}
	addr_set(&gw, data[0] & 2 ? 6 : 4, 0x42);
	addr_set(&tun, data[0] & 4 ? 6 : 4, 0x17);

	rv = scion_uplink_check(p, len, ia, &host, &h, &ptr);
	if (rv == 0) {
		if (ptr != 0)
			__builtin_trap();
		check_valid(p, len, &h);
	} else {
		if (ptr > len || (len >= 12 && ptr != expected_pointer(p, rv, ptr)) ||
		    (len < 12 && (rv != SCION_BAD_COMMON_HDR || ptr != 0)))
			__builtin_trap();
		check_answer(p, len, (unsigned)rv, ptr, 0x0001ff0000000001ULL, &gw, ia, &tun);
	}
	check_dispatch(p, len);
	free(p);
	return 0;
}
