/* Fuzzes the ICMP error builder and the hop count (lib/icmp.h). The first byte picks the kind
 * (bit 0), the MTU (bits 1-3) and whether the source is of the packet's family (bit 4); the rest
 * is the packet, in a heap copy of exactly its length (ASan catches any read past it).
 * Invariants: an answer is at most ICMP_ERR_MAX bytes, parses as one whole packet of the
 * input's family with right checksums, goes to the input's source and quotes its first bytes;
 * no answer about an ICMP error, and none about the answer itself; the hop count goes down by
 * one and keeps a right IPv4 header checksum right, touching nothing else. */
#include <stdlib.h>
#include <string.h>

#include "../../agent/ippkt.h"
#include "../../lib/csum.h"
#include "../../lib/icmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned mtus[] = {0, 68, 576, 1280, 1400, 1500, 65535, 100000};

/* Whether the packet's first upper-layer header, found without walking extension headers, is
 * an ICMP error: what icmp_error must never answer whatever else it decides. */
static int
is_icmp_error(const uint8_t *p, size_t len)
{
	if ((p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		if (len < 20 || p[9] != 1 || ihl >= len)
			return 0;
		return p[ihl] == 3 || p[ihl] == 4 || p[ihl] == 5 || p[ihl] == 11 || p[ihl] == 12;
	}
	return len > 40 && p[6] == 58 && p[40] < 128;
}

static void
check_answer(const uint8_t *p, size_t len, int kind, const uint8_t *out, size_t n,
    const struct addr *src, unsigned mtu)
{
	struct ippkt ip;
	uint8_t again[ICMP_ERR_MAX];

	if (n > ICMP_ERR_MAX || ippkt_parse(out, n, &ip) != 0 || ip.family != (p[0] >> 4))
		__builtin_trap();
	if (is_icmp_error(p, len) || !is_icmp_error(out, n))
		__builtin_trap();
	if (memcmp(ip.src.b, src->b, ip.family == 4 ? 4 : 16) != 0)
		__builtin_trap();
	if (ip.family == 4) {
		if (n > 576 || memcmp(out + 16, p + 12, 4) != 0 ||
		    csum_fold(csum_add(0, out, 20)) != 0 ||
		    csum_fold(csum_add(0, out + 20, n - 20)) != 0 ||
		    memcmp(out + 28, p, n - 28) != 0 || (n < 576 && n - 28 != len))
			__builtin_trap();
		if ((((unsigned)p[6] << 8 | p[7]) & 0x1fff) != 0)
			__builtin_trap();
		if (kind == ICMP_TOO_BIG &&
		    (!(p[6] & 0x40) || out[20] != 3 || out[21] != 4 ||
			((unsigned)out[26] << 8 | out[27]) != (mtu > 0xffff ? 0xffff : mtu)))
			__builtin_trap();
	} else {
		uint8_t ph[8] = {0, 0, (uint8_t)((n - 40) >> 8), (uint8_t)(n - 40), 0, 0, 0, 58};
		uint32_t s = csum_add(csum_add(0, out + 8, 32), ph, 8);
		if (memcmp(out + 24, p + 8, 16) != 0 ||
		    csum_fold(csum_add(s, out + 40, n - 40)) != 0 ||
		    memcmp(out + 48, p, n - 48) != 0 || (n < 1280 && n - 48 != len))
			__builtin_trap();
	}
	/* The answer is an ICMP error itself: never one about it. */
	if (icmp_error(kind, out, n, src, mtu, again) != 0)
		__builtin_trap();
}

static void
check_hop(const uint8_t *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);
	int v4ok;

	memcpy(c, p, len);
	v4ok = len >= 20 && (p[0] >> 4) == 4 && csum_fold(csum_add(0, p, 20)) == 0;
	if (icmp_hop_decrement(c, len) == 0) {
		size_t at = (p[0] >> 4) == 4 ? 8 : 7;
		if (c[at] != p[at] - 1 || p[at] <= 1)
			__builtin_trap();
		for (size_t i = 0; i < len; i++)
			if (i != at && c[i] != p[i] && !(at == 8 && (i == 10 || i == 11)))
				__builtin_trap();
		if (v4ok && csum_fold(csum_add(0, c, 20)) != 0)
			__builtin_trap();
	} else if (len && memcmp(c, p, len) != 0) {
		__builtin_trap();
	}
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[ICMP_ERR_MAX];
	struct addr src;
	int kind;
	unsigned mtu;
	uint8_t *p;
	size_t len, n;

	if (size < 1)
		return 0;
	kind = data[0] & 1 ? ICMP_TOO_BIG : ICMP_TIME_EXCEEDED;
	mtu = mtus[(data[0] >> 1) & 7];
	len = size - 1;
	p = malloc(len ? len : 1);
	memcpy(p, data + 1, len);

	memset(&src, 0, sizeof(src));
	src.family = len && (p[0] >> 4) == 4 ? 4 : 6;
	if (data[0] & 0x10)
		src.family = src.family == 4 ? 6 : 4;
	memset(src.b, 0x42, src.family == 4 ? 4 : 16);

	n = icmp_error(kind, p, len, &src, mtu, out);
	if (n > 0)
		check_answer(p, len, kind, out, n, &src, mtu);
	check_hop(p, len);
	free(p);
	return 0;
}
