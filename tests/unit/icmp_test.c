/* ICMP errors and the hop count (lib/icmp.h): each answer built and read back field by field,
 * its checksums recomputed here independently of lib/csum.c; the cases that get no answer. */
#include <stdlib.h>
#include <string.h>

#include "../../agent/ippkt.h"
#include "../../lib/icmp.h"
#include "check.h"

/* The Internet checksum the slow, obvious way: word by word with the carry folded each time. */
static uint16_t
naive_sum(const uint8_t *p, size_t len, uint16_t start)
{
	uint32_t s = start;

	for (size_t i = 0; i < len; i += 2) {
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
		if (s > 0xffff)
			s = (s & 0xffff) + 1;
	}
	return (uint16_t)s;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The IPv4 header checksum recomputed over a copy with the field zeroed. */
static uint16_t
v4_hdr_csum(const uint8_t *h)
{
	uint8_t c[60];
	size_t ihl = (size_t)(h[0] & 15) * 4;

	memcpy(c, h, ihl);
	c[10] = c[11] = 0;
	return (uint16_t)~naive_sum(c, ihl, 0);
}

/* The ICMPv6 checksum of the packet p (40-byte header, then ICMPv6) recomputed. */
static uint16_t
v6_icmp_csum(const uint8_t *p, size_t len)
{
	uint8_t *c = malloc(len);
	uint8_t ph[8] = {0};
	uint16_t s;

	memcpy(c, p, len);
	c[42] = c[43] = 0;
	put16(ph + 2, (unsigned)(len - 40));
	ph[7] = 58;
	s = naive_sum(c + 8, 32, 0);
	s = naive_sum(ph, 8, s);
	s = naive_sum(c + 40, len - 40, s);
	free(c);
	return (uint16_t)~s;
}

static uint16_t
v4_icmp_csum(const uint8_t *icmp, size_t len)
{
	uint8_t *c = malloc(len);
	uint16_t s;

	memcpy(c, icmp, len);
	c[2] = c[3] = 0;
	s = (uint16_t)~naive_sum(c, len, 0);
	free(c);
	return s;
}

/* An IPv4 packet of len bytes (proto, flags and fragment offset word frag), the payload
 * bytes counting up; first payload byte (an ICMP type) t. */
static size_t
v4_pkt(uint8_t *p, size_t len, const char *src, const char *dst, uint8_t proto, unsigned frag,
    uint8_t t)
{
	struct addr a;

	memset(p, 0, len);
	p[0] = 0x45;
	put16(p + 2, (unsigned)len);
	put16(p + 4, 0x1234);
	put16(p + 6, frag);
	p[8] = 17;
	p[9] = proto;
	addr_parse(src, &a);
	memcpy(p + 12, a.b, 4);
	addr_parse(dst, &a);
	memcpy(p + 16, a.b, 4);
	for (size_t i = 20; i < len; i++)
		p[i] = (uint8_t)i;
	if (len > 20)
		p[20] = t;
	put16(p + 10, v4_hdr_csum(p));
	return len;
}

/* An IPv6 packet of len bytes: headers hdrs (nh chain: the next-header value of the fixed
 * header, then the extension headers' bytes), the rest counting up. */
static size_t
v6_pkt(uint8_t *p, size_t len, const char *src, const char *dst, uint8_t nh, const uint8_t *ext,
    size_t extlen)
{
	struct addr a;

	memset(p, 0, len);
	p[0] = 0x60;
	put16(p + 4, (unsigned)(len - 40));
	p[6] = nh;
	p[7] = 9;
	addr_parse(src, &a);
	memcpy(p + 8, a.b, 16);
	addr_parse(dst, &a);
	memcpy(p + 24, a.b, 16);
	for (size_t i = 40; i < len; i++)
		p[i] = (uint8_t)i;
	if (extlen > 0)
		memcpy(p + 40, ext, extlen);
	return len;
}

static struct addr gw4, gw6;

static void
test_v4_answers(void)
{
	uint8_t pkt[1500], out[ICMP_ERR_MAX + 64];
	struct ippkt ip;
	size_t n;

	v4_pkt(pkt, 100, "10.1.0.7", "192.0.2.9", 17, 0, 0);
	memset(out, 0xee, sizeof(out));
	n = icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw4, 0, out);
	CHECK_EQ_INT(n, 20 + 8 + 100, "time exceeded about a 100-byte UDP packet quotes it whole");
	CHECK(out[0] == 0x45 && out[1] == 0xc0, "IPv4, 20-byte header, precedence 6");
	CHECK_EQ_INT(get16(out + 2), n, "total length");
	CHECK(
	    get16(out + 4) == 0 && get16(out + 6) == 0, "identification 0, DF clear, no fragment");
	CHECK(out[8] == 64 && out[9] == 1, "TTL 64, protocol ICMP");
	CHECK_EQ_INT(get16(out + 10), v4_hdr_csum(out), "header checksum recomputed");
	CHECK(memcmp(out + 12, gw4.b, 4) == 0, "source: the gateway's address");
	CHECK(memcmp(out + 16, pkt + 12, 4) == 0, "destination: the packet's source");
	CHECK(out[20] == 11 && out[21] == 0, "type 11 code 0");
	CHECK(get16(out + 24) == 0 && get16(out + 26) == 0, "unused word 0");
	CHECK_EQ_INT(get16(out + 22), v4_icmp_csum(out + 20, n - 20), "ICMP checksum recomputed");
	CHECK(memcmp(out + 28, pkt, 100) == 0, "the quote is the packet");
	CHECK(ippkt_parse(out, n, &ip) == 0 && ip.proto == 1, "the answer parses as one packet");
	CHECK(out[n] == 0xee, "nothing written past the answer");

	v4_pkt(pkt, 1400, "10.1.0.7", "192.0.2.9", 6, 0x4000, 0);
	n = icmp_error(ICMP_TOO_BIG, pkt, 1400, &gw4, 1280, out);
	CHECK_EQ_INT(n, 576, "too big about 1400 bytes: the answer is 576 bytes in all");
	CHECK(out[20] == 3 && out[21] == 4, "type 3 code 4");
	CHECK(get16(out + 24) == 0 && get16(out + 26) == 1280, "next-hop MTU 1280");
	CHECK_EQ_INT(get16(out + 22), v4_icmp_csum(out + 20, n - 20), "ICMP checksum recomputed");
	CHECK_EQ_INT(get16(out + 10), v4_hdr_csum(out), "header checksum recomputed");
	CHECK(memcmp(out + 28, pkt, 548) == 0, "the quote is the packet's first 548 bytes");
	CHECK(ippkt_parse(out, n, &ip) == 0, "the answer parses as one packet");

	n = icmp_error(ICMP_TOO_BIG, pkt, 1400, &gw4, 70000, out);
	CHECK(n == 576 && get16(out + 26) == 0xffff, "an MTU over 16 bits is written as 65535");
	v4_pkt(pkt, 548, "10.1.0.7", "192.0.2.9", 6, 0x4000, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TOO_BIG, pkt, 548, &gw4, 500, out), 576,
	    "a 548-byte packet fits whole in 576");
	v4_pkt(pkt, 549, "10.1.0.7", "192.0.2.9", 6, 0x4000, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TOO_BIG, pkt, 549, &gw4, 500, out), 576,
	    "a 549-byte packet is cut to 576");

	v4_pkt(pkt, 100, "10.1.0.7", "192.0.2.9", 17, 0, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TOO_BIG, pkt, 100, &gw4, 1280, out), 0,
	    "no too big about a packet without DF");
	v4_pkt(pkt, 100, "10.1.0.7", "192.0.2.9", 17, 0x2000, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw4, 0, out), 128,
	    "a first fragment (MF, offset 0) is answered");

	/* Options: quoted with the header they belong to. */
	v4_pkt(pkt, 100, "10.1.0.7", "192.0.2.9", 1, 0, 8);
	pkt[0] = 0x46;
	pkt[20] = 3; /* what would be an error type if the options were ignored */
	pkt[24] = 8;
	put16(pkt + 10, v4_hdr_csum(pkt));
	n = icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw4, 0, out);
	CHECK(n == 128 && memcmp(out + 28, pkt, 100) == 0,
	    "an echo request after 4 bytes of options is answered (type read after the IHL)");
}

static void
test_v4_no_answer(void)
{
	static const uint8_t errs[] = {3, 4, 5, 11, 12};
	static const uint8_t ok[] = {0, 8, 13, 14};
	static const char *bad_src[] = {"0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.1.1.1",
	    "240.0.0.1", "255.255.255.255"};
	static const char *bad_dst[] = {
	    "0.0.0.0", "224.0.0.5", "239.255.255.250", "255.255.255.255"};
	uint8_t pkt[200], out[ICMP_ERR_MAX];

	for (size_t i = 0; i < sizeof(errs); i++) {
		v4_pkt(pkt, 60, "10.1.0.7", "192.0.2.9", 1, 0x4000, errs[i]);
		CHECK(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw4, 0, out) == 0 &&
			icmp_error(ICMP_TOO_BIG, pkt, 60, &gw4, 576, out) == 0,
		    "no answer about ICMP error type %u", errs[i]);
	}
	for (size_t i = 0; i < sizeof(ok); i++) {
		v4_pkt(pkt, 60, "10.1.0.7", "192.0.2.9", 1, 0x4000, ok[i]);
		CHECK(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw4, 0, out) == 88,
		    "an answer about ICMP informational type %u", ok[i]);
	}
	v4_pkt(pkt, 20, "10.1.0.7", "192.0.2.9", 1, 0, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 20, &gw4, 0, out), 0,
	    "no answer about ICMP without its type byte");
	for (size_t i = 0; i < sizeof(bad_src) / sizeof(bad_src[0]); i++) {
		v4_pkt(pkt, 60, bad_src[i], "192.0.2.9", 17, 0x4000, 0);
		CHECK(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw4, 0, out) == 0 &&
			icmp_error(ICMP_TOO_BIG, pkt, 60, &gw4, 576, out) == 0,
		    "no answer to source %s", bad_src[i]);
	}
	for (size_t i = 0; i < sizeof(bad_dst) / sizeof(bad_dst[0]); i++) {
		v4_pkt(pkt, 60, "10.1.0.7", bad_dst[i], 17, 0x4000, 0);
		CHECK(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw4, 0, out) == 0 &&
			icmp_error(ICMP_TOO_BIG, pkt, 60, &gw4, 576, out) == 0,
		    "no answer about a packet to %s", bad_dst[i]);
	}
	v4_pkt(pkt, 60, "10.1.0.7", "10.9.9.255", 17, 0x4000, 0);
	CHECK(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw4, 0, out) == 88,
	    "a packet to what may be a subnet broadcast is answered (the subnet is unknown here)");
	v4_pkt(pkt, 60, "10.1.0.7", "192.0.2.9", 17, 0x0001, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw4, 0, out), 0,
	    "no answer about a non-first fragment");
	v4_pkt(pkt, 60, "10.1.0.7", "192.0.2.9", 17, 0x6001, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TOO_BIG, pkt, 60, &gw4, 576, out), 0,
	    "no answer about a non-first fragment with DF");

	v4_pkt(pkt, 60, "10.1.0.7", "192.0.2.9", 17, 0x4000, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw6, 0, out), 0,
	    "no answer from an IPv6 source about IPv4");
	CHECK_EQ_INT(icmp_error(0, pkt, 60, &gw4, 0, out), 0, "no answer of an unknown kind");
	CHECK_EQ_INT(
	    icmp_error(ICMP_TIME_EXCEEDED, pkt, 19, &gw4, 0, out), 0, "no answer about 19 bytes");
	pkt[0] = 0x4f;
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 59, &gw4, 0, out), 0,
	    "no answer when the IHL runs past the length");
	pkt[0] = 0x44;
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw4, 0, out), 0,
	    "no answer with an IHL below 5");
	pkt[0] = 0x55;
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 60, &gw4, 0, out), 0,
	    "no answer about IP version 5");
	CHECK_EQ_INT(
	    icmp_error(ICMP_TIME_EXCEEDED, pkt, 0, &gw4, 0, out), 0, "no answer about 0 bytes");
}

static void
test_v6_answers(void)
{
	uint8_t pkt[2000], out[ICMP_ERR_MAX + 64];
	struct ippkt ip;
	size_t n;

	v6_pkt(pkt, 140, "2001:db8:1::7", "2001:db8:2::9", 17, NULL, 0);
	memset(out, 0xee, sizeof(out));
	n = icmp_error(ICMP_TIME_EXCEEDED, pkt, 140, &gw6, 0, out);
	CHECK_EQ_INT(n, 40 + 8 + 140, "time exceeded about a 140-byte packet quotes it whole");
	CHECK(out[0] == 0x60 && out[1] == 0 && out[2] == 0 && out[3] == 0,
	    "IPv6, traffic class and flow label 0");
	CHECK_EQ_INT(get16(out + 4), n - 40, "payload length");
	CHECK(out[6] == 58 && out[7] == 64, "next header ICMPv6, hop limit 64");
	CHECK(memcmp(out + 8, gw6.b, 16) == 0, "source: the gateway's address");
	CHECK(memcmp(out + 24, pkt + 8, 16) == 0, "destination: the packet's source");
	CHECK(out[40] == 3 && out[41] == 0, "type 3 code 0");
	CHECK(get16(out + 44) == 0 && get16(out + 46) == 0, "unused word 0");
	CHECK_EQ_INT(get16(out + 42), v6_icmp_csum(out, n), "checksum over the pseudo-header");
	CHECK(memcmp(out + 48, pkt, 140) == 0, "the quote is the packet");
	CHECK(ippkt_parse(out, n, &ip) == 0 && ip.proto == 58, "the answer parses as one packet");
	CHECK(out[n] == 0xee, "nothing written past the answer");

	v6_pkt(pkt, 2000, "2001:db8:1::7", "2001:db8:2::9", 6, NULL, 0);
	n = icmp_error(ICMP_TOO_BIG, pkt, 2000, &gw6, 1400, out);
	CHECK_EQ_INT(n, 1280, "packet too big about 2000 bytes: 1280 bytes in all");
	CHECK(out[40] == 2 && out[41] == 0, "type 2 code 0");
	CHECK(get16(out + 44) == 0 && get16(out + 46) == 1400, "MTU 1400 in 32 bits");
	CHECK_EQ_INT(get16(out + 42), v6_icmp_csum(out, n), "checksum over the pseudo-header");
	CHECK(memcmp(out + 48, pkt, 1232) == 0, "the quote is the first 1232 bytes");
	CHECK(ippkt_parse(out, n, &ip) == 0, "the answer parses as one packet");
	n = icmp_error(ICMP_TOO_BIG, pkt, 2000, &gw6, 70000, out);
	CHECK(n == 1280 && get16(out + 44) == 1 && get16(out + 46) == 70000 - 65536,
	    "an MTU over 16 bits is written whole");
	CHECK_EQ_INT(icmp_error(ICMP_TOO_BIG, pkt, 1232, &gw6, 1280, out), 1280,
	    "a 1232-byte packet fits whole in 1280");

	v6_pkt(pkt, 200, "2001:db8:1::7", "ff0e::1", 17, NULL, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TOO_BIG, pkt, 200, &gw6, 1280, out), 248,
	    "packet too big about a packet to a multicast group (RFC 4443 2.4 e.2)");
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 200, &gw6, 0, out), 0,
	    "but no time exceeded about it");

	v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 58, (const uint8_t[]){128}, 1);
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out), 148,
	    "an echo request is answered");
	{
		/* hop-by-hop (8 bytes), destination options (16), fragment offset 0, then UDP */
		static const uint8_t ext[] = {60, 0, 1, 4, 0, 0, 0, 0, 44, 1, 1, 12, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 1, 0, 0, 0, 9};
		v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 0, ext, sizeof(ext));
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out), 148,
		    "UDP after three extension headers (a first fragment) is answered");
	}
	{
		/* authentication header (payload length 1: 12 bytes), then ICMPv6 echo reply */
		static const uint8_t ext[] = {58, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 129};
		v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 51, ext, sizeof(ext));
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out), 148,
		    "an echo reply after an authentication header is answered");
		pkt[52] = 1;
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out), 0,
		    "an ICMPv6 error after an authentication header is not");
	}
}

static void
test_v6_no_answer(void)
{
	static const uint8_t errs[] = {1, 2, 3, 4, 100, 127};
	static const char *bad_src[] = {"::", "::1", "ff02::1", "ff0e::5"};
	uint8_t pkt[400], out[ICMP_ERR_MAX];

	for (size_t i = 0; i < sizeof(errs); i++) {
		v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 58, &errs[i], 1);
		CHECK(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out) == 0 &&
			icmp_error(ICMP_TOO_BIG, pkt, 100, &gw6, 1280, out) == 0,
		    "no answer about ICMPv6 error type %u", errs[i]);
	}
	v6_pkt(pkt, 40, "2001:db8:1::7", "2001:db8:2::9", 58, NULL, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 40, &gw6, 0, out), 0,
	    "no answer about ICMPv6 without its type byte");
	{
		static const uint8_t ext[] = {58, 0, 1, 4, 0, 0, 0, 0, 1};
		v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 0, ext, sizeof(ext));
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out), 0,
		    "no answer about an ICMPv6 error after hop-by-hop options");
	}
	{
		static const uint8_t ext[] = {17, 0, 0x05, 0x38, 0, 0, 0, 1};
		v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 44, ext, sizeof(ext));
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out), 0,
		    "no answer about a non-first fragment");
	}
	{
		static const uint8_t ext[] = {58, 0, 0, 1, 0, 0, 0, 1, 3};
		v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 44, ext, sizeof(ext));
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out), 0,
		    "no answer about the first fragment of an ICMPv6 error");
	}
	{
		/* nine destination-options headers of 8 bytes, then UDP: longer than the walk */
		uint8_t ext[72];
		for (int i = 0; i < 9; i++) {
			memset(ext + 8 * i, 0, 8);
			ext[8 * i] = i < 8 ? 60 : 17;
		}
		v6_pkt(pkt, 200, "2001:db8:1::7", "2001:db8:2::9", 60, ext, sizeof(ext));
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 200, &gw6, 0, out), 0,
		    "no answer after nine extension headers");
		ext[56] = 17;
		v6_pkt(pkt, 200, "2001:db8:1::7", "2001:db8:2::9", 60, ext, sizeof(ext));
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 200, &gw6, 0, out), 248,
		    "an answer after eight");
	}
	{
		static const uint8_t ext[] = {17, 20};
		v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 0, ext, sizeof(ext));
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out), 0,
		    "no answer when an extension header runs past the packet");
		v6_pkt(pkt, 41, "2001:db8:1::7", "2001:db8:2::9", 0, ext, 1);
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 41, &gw6, 0, out), 0,
		    "no answer when an extension header's length byte is missing");
		v6_pkt(pkt, 47, "2001:db8:1::7", "2001:db8:2::9", 44, ext, 2);
		CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 47, &gw6, 0, out), 0,
		    "no answer about a fragment header cut short");
	}
	for (size_t i = 0; i < sizeof(bad_src) / sizeof(bad_src[0]); i++) {
		v6_pkt(pkt, 100, bad_src[i], "2001:db8:2::9", 17, NULL, 0);
		CHECK(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out) == 0 &&
			icmp_error(ICMP_TOO_BIG, pkt, 100, &gw6, 1280, out) == 0,
		    "no answer to source %s", bad_src[i]);
	}
	v6_pkt(pkt, 100, "2001:db8:1::7", "::", 17, NULL, 0);
	CHECK(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw6, 0, out) == 0 &&
		icmp_error(ICMP_TOO_BIG, pkt, 100, &gw6, 1280, out) == 0,
	    "no answer about a packet to ::");
	v6_pkt(pkt, 100, "2001:db8:1::7", "2001:db8:2::9", 17, NULL, 0);
	CHECK_EQ_INT(icmp_error(ICMP_TIME_EXCEEDED, pkt, 100, &gw4, 0, out), 0,
	    "no answer from an IPv4 source about IPv6");
	CHECK_EQ_INT(
	    icmp_error(ICMP_TIME_EXCEEDED, pkt, 39, &gw6, 0, out), 0, "no answer about 39 bytes");
}

static void
test_hop_decrement(void)
{
	uint8_t pkt[100], before[100];
	int bad = 0, n = 0;

	v4_pkt(pkt, 60, "10.1.0.7", "192.0.2.9", 17, 0x4000, 0);
	pkt[8] = 64;
	put16(pkt + 10, v4_hdr_csum(pkt));
	CHECK(icmp_hop_decrement(pkt, 60) == 0 && pkt[8] == 63, "TTL 64 becomes 63");
	CHECK_EQ_INT(get16(pkt + 10), v4_hdr_csum(pkt), "the checksum is the recomputed one");

	/* Every TTL with headers whose checksums cover the whole range, the 0x0000/0xffff
	 * boundary included: the incremental update equals the full recomputation. */
	srand(10);
	for (int round = 0; round < 4000; round++) {
		v4_pkt(pkt, 40, "10.1.0.7", "192.0.2.9", 17, 0, 0);
		for (int i = 4; i < 20; i++)
			if (i != 8 && i != 10 && i != 11)
				pkt[i] = (uint8_t)rand();
		if (round < 256) {
			/* force the sum of the other words to each high byte */
			pkt[4] = (uint8_t)round;
		}
		pkt[8] = (uint8_t)(2 + round % 254);
		put16(pkt + 10, v4_hdr_csum(pkt));
		if (icmp_hop_decrement(pkt, 40) != 0 || get16(pkt + 10) != v4_hdr_csum(pkt))
			bad++;
		n++;
	}
	CHECK(bad == 0, "%d of %d decrements match a full recomputation", n - bad, n);
	{
		/* the header whose checksum is 0x0000 before, and one whose result is */
		int zero_before = 0, zero_after = 0;
		for (unsigned w = 0; w < 0x10000 && (!zero_before || !zero_after); w++) {
			v4_pkt(pkt, 40, "10.1.0.7", "192.0.2.9", 17, 0, 0);
			pkt[8] = 2;
			put16(pkt + 4, w);
			put16(pkt + 10, v4_hdr_csum(pkt));
			int z = get16(pkt + 10) == 0;
			if (icmp_hop_decrement(pkt, 40) != 0 || get16(pkt + 10) != v4_hdr_csum(pkt))
				bad++;
			zero_before |= z;
			zero_after |= get16(pkt + 10) == 0;
		}
		CHECK(bad == 0 && zero_before && zero_after,
		    "checksums of 0x0000 before and after stay equal to the recomputation");
	}

	pkt[8] = 1;
	put16(pkt + 10, v4_hdr_csum(pkt));
	memcpy(before, pkt, 40);
	CHECK(icmp_hop_decrement(pkt, 40) == -1 && memcmp(pkt, before, 40) == 0,
	    "TTL 1: -1, packet unchanged");
	pkt[8] = 0;
	memcpy(before, pkt, 40);
	CHECK(icmp_hop_decrement(pkt, 40) == -1 && memcmp(pkt, before, 40) == 0,
	    "TTL 0: -1, packet unchanged");
	CHECK_EQ_INT(icmp_hop_decrement(pkt, 19), -1, "19 bytes of IPv4: -1");

	v6_pkt(pkt, 60, "2001:db8:1::7", "2001:db8:2::9", 17, NULL, 0);
	pkt[7] = 2;
	CHECK(icmp_hop_decrement(pkt, 60) == 0 && pkt[7] == 1, "hop limit 2 becomes 1");
	memcpy(before, pkt, 60);
	CHECK(icmp_hop_decrement(pkt, 60) == -1 && memcmp(pkt, before, 60) == 0,
	    "hop limit 1: -1, packet unchanged");
	pkt[7] = 0;
	CHECK_EQ_INT(icmp_hop_decrement(pkt, 60), -1, "hop limit 0: -1");
	pkt[7] = 64;
	CHECK_EQ_INT(icmp_hop_decrement(pkt, 39), -1, "39 bytes of IPv6: -1");
	CHECK_EQ_INT(icmp_hop_decrement(pkt, 0), -1, "0 bytes: -1");
	pkt[0] = 0x70;
	CHECK_EQ_INT(icmp_hop_decrement(pkt, 60), -1, "IP version 7: -1");
}

int
main(void)
{
	addr_parse("192.0.2.1", &gw4);
	addr_parse("2001:db8:ffff::1", &gw6);
	test_v4_answers();
	test_v4_no_answer();
	test_v6_answers();
	test_v6_no_answer();
	test_hop_decrement();
	return check_done();
}
