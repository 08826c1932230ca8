/* TCP packets over IPv4 and IPv6 for the tests of the TUN offloads (gso_test, gro_test), built
 * and checked here with a checksum written apart from lib/csum.c, so that the tests do not
 * take the code's word for its sums. Header-only (static inline): each test has its own copy.
 *
 * A packet: IPv4 (20 bytes, DF, TTL 64) or IPv6 (40 bytes, hop limit 64), then TCP with optlen
 * bytes of options (a multiple of 4: NOPs and a timestamp option when 12), then the payload;
 * every length field and checksum right. Addresses: 10.0.0.1 (or .src_last) to 10.0.0.2,
 * 2001:db8::1 (or ::src_last) to 2001:db8::2. */
#ifndef TESTS_TCPPKT_H
#define TESTS_TCPPKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/be.h"

struct tcppkt {
	int v6;
	uint16_t id; /* IPv4 identification */
	uint32_t seq, ack;
	uint8_t flags; /* TCP flags (0x10 ACK, 0x08 PSH, 0x01 FIN, 0x80 CWR, ...) */
	uint16_t window;
	uint16_t urg; /* the urgent pointer field, written whether URG (0x20) is set or not */
	size_t optlen;
	uint16_t sport, dport;
	uint8_t src_last; /* the source address's last byte: another flow */
	uint16_t mss; /* with optlen 4: an MSS option of this value */
};

/* The ones' complement sum of 16-bit big-endian words, one at a time. */
static inline uint32_t
tcppkt_sum(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static inline size_t
tcppkt_iphlen(const uint8_t *p)
{
	return (p[0] >> 4) == 6 ? 40 : (size_t)(p[0] & 15) * 4;
}

/* The sum of the pseudo-header for a TCP segment of tcplen bytes of packet p. */
static inline uint32_t
tcppkt_pseudo(const uint8_t *p, size_t tcplen)
{
	uint8_t tail[8] = {0};

	be_put32(tail, (uint32_t)tcplen);
	tail[7] = 6;
	if ((p[0] >> 4) == 6)
		return tcppkt_sum(tail, 8, tcppkt_sum(p + 8, 32, 0));
	return tcppkt_sum(tail, 8, tcppkt_sum(p + 12, 8, 0));
}

/* Whether packet p of len bytes has a right IPv4 header checksum (IPv6: none) and a right TCP
 * checksum. */
static inline int
tcppkt_csums_ok(const uint8_t *p, size_t len)
{
	size_t ihl = tcppkt_iphlen(p);

	if ((p[0] >> 4) == 4 && tcppkt_sum(p, ihl, 0) != 0xffff)
		return 0;
	return tcppkt_sum(p + ihl, len - ihl, tcppkt_pseudo(p, len - ihl)) == 0xffff;
}

/* Build the packet k with payload n bytes of pay into out: its length. */
static inline size_t
tcppkt_build(const struct tcppkt *k, const uint8_t *pay, size_t n, uint8_t *out)
{
	size_t ihl = k->v6 ? 40 : 20, thl = 20 + k->optlen, len = ihl + thl + n;
	uint8_t *t = out + ihl;

	memset(out, 0, ihl + thl);
	if (k->v6) {
		out[0] = 0x60;
		be_put16(out + 4, (unsigned)(len - 40));
		out[6] = 6;
		out[7] = 64;
		out[23] = k->src_last ? k->src_last : 1; /* 2001:db8::1 */
		out[8] = 0x20, out[9] = 0x01, out[10] = 0x0d, out[11] = 0xb8;
		out[24] = 0x20, out[25] = 0x01, out[26] = 0x0d, out[27] = 0xb8, out[39] = 2;
	} else {
		out[0] = 0x45;
		be_put16(out + 2, (unsigned)len);
		be_put16(out + 4, k->id);
		out[6] = 0x40; /* DF */
		out[8] = 64;
		out[9] = 6;
		out[12] = 10, out[15] = k->src_last ? k->src_last : 1;
		out[16] = 10, out[19] = 2;
	}
	be_put16(t, k->sport ? k->sport : 40000);
	be_put16(t + 2, k->dport ? k->dport : 5201);
	be_put32(t + 4, k->seq);
	be_put32(t + 8, k->ack);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = k->flags;
	be_put16(t + 14, k->window ? k->window : 502);
	be_put16(t + 18, k->urg);
	for (size_t i = 0; i < k->optlen; i++)
		t[20 + i] = 1; /* NOP */
	if (k->optlen >= 12) { /* NOP NOP timestamps */
		t[22] = 8, t[23] = 10;
		be_put32(t + 24, 0x01020304);
		be_put32(t + 28, k->ack ^ 0x55aa);
	}
	if (k->optlen == 4 && k->mss != 0) {
		t[20] = 2, t[21] = 4;
		be_put16(t + 22, k->mss);
	}
	if (n > 0) /* pay may be NULL then */
		memcpy(out + ihl + thl, pay, n);
	if (!k->v6)
		be_put16(out + 10, ~tcppkt_sum(out, 20, 0) & 0xffff);
	be_put16(t + 16, ~tcppkt_sum(t, thl + n, tcppkt_pseudo(out, thl + n)) & 0xffff);
	return len;
}

#endif
