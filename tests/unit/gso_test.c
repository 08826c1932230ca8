/* lib/gso.c: TCP super-packets as a TUN device with offloads hands them over (IPv4 and IPv6,
 * with and without options, FIN, PSH and CWR), cut into segments compared byte for byte with
 * the packets a TCP stack would have sent (tcppkt.h, checksums computed apart); checksums left
 * partial completed; headers that contradict their packet refused. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/gso.h"
#include "check.h"
#include "tcppkt.h"

#define BIG 70000

static uint8_t payload[BIG];

/* The super-packet of k with n payload bytes as the kernel hands it over: the lengths of the
 * whole, the TCP checksum field holding the pseudo-header sum (not complemented). Its header
 * into *h. */
static size_t
super_build(const struct tcppkt *k, size_t n, uint16_t mss, uint8_t *out, struct vnethdr *h)
{
	size_t len = tcppkt_build(k, payload, n, out), ihl = tcppkt_iphlen(out);

	be_put16(out + ihl + 16, tcppkt_pseudo(out, len - ihl) & 0xffff);
	memset(h, 0, sizeof(*h));
	h->flags = VNETHDR_F_NEEDS_CSUM;
	h->gso_type = k->v6 ? VNETHDR_GSO_TCPV6 : VNETHDR_GSO_TCPV4;
	h->gso_size = mss;
	h->hdr_len = (uint16_t)(ihl + 20 + k->optlen);
	h->csum_start = (uint16_t)ihl;
	h->csum_offset = 16;
	return len;
}

/* Cut the super-packet of k (n payload bytes) at mss and compare each segment with the packet
 * a stack would have sent: (n + mss - 1) / mss of them. */
static void
check_cut(const char *what, struct tcppkt k, size_t n, uint16_t mss)
{
	static uint8_t super[BIG], seg[BIG], want[BIG];
	size_t len, want_len, expect = n == 0 ? 1 : (n + mss - 1) / mss, i = 0, bad = 0;
	struct vnethdr h;
	struct gso g;
	ssize_t got;
	uint8_t flags = k.flags;

	len = super_build(&k, n, mss, super, &h);
	CHECK_EQ_INT(gso_start(&g, &h, super, len), 1, "%s: a super-packet", what);
	while ((got = gso_next(&g, seg, sizeof(seg))) > 0) {
		struct tcppkt s = k;
		size_t off = i * mss, part = n - off < mss ? n - off : mss;

		s.id = (uint16_t)(k.id + i);
		s.seq = k.seq + (uint32_t)off;
		s.flags = flags;
		if (off + part < n)
			s.flags &= (uint8_t)~0x09; /* FIN, PSH: the last only */
		if (i > 0)
			s.flags &= (uint8_t)~0x80; /* CWR: the first only */
		want_len = tcppkt_build(&s, payload + off, part, want);
		if ((size_t)got != want_len || memcmp(seg, want, want_len) != 0 ||
		    !tcppkt_csums_ok(seg, (size_t)got))
			bad++;
		i++;
	}
	CHECK_EQ_INT(got, 0, "%s: the end", what);
	CHECK_EQ_INT(i, expect, "%s: %zu segments", what, expect);
	CHECK_EQ_INT(bad, 0, "%s: each segment as the stack would send it, checksums right", what);
	CHECK_EQ_INT(gso_next(&g, seg, sizeof(seg)), 0, "%s: nothing after the end", what);
}

static void
test_cut(void)
{
	struct tcppkt k4 = {.id = 0xfffe, .seq = 0xfffff000, .ack = 77, .flags = 0x18};
	struct tcppkt k6 = {.v6 = 1, .seq = 1, .ack = 2, .flags = 0x10, .optlen = 12};

	check_cut("IPv4 5000 bytes at 1448 (id and sequence wrap)", k4, 5000, 1448);
	k4.optlen = 12;
	k4.flags = 0x19 | 0x80; /* FIN PSH ACK CWR */
	check_cut("IPv4 with timestamps, FIN, PSH, CWR", k4, 64000, 1388);
	check_cut("IPv6 with timestamps, a last segment of 1 byte", k6, 3001, 1000);
	k6.optlen = 0;
	check_cut("IPv6 at exactly 3 segments", k6, 3 * 1220, 1220);
	check_cut("gso_size 1", k6, 5, 1);
	check_cut("one segment", k6, 100, 1440);
	check_cut("no payload", k6, 0, 1440);
	check_cut("IPv4 the largest", k4, 65535 - 20 - 32, 1448);
}

static void
test_refused(void)
{
	static uint8_t super[BIG], seg[2000];
	struct tcppkt k4 = {.flags = 0x10}, k6 = {.v6 = 1, .flags = 0x10};
	struct vnethdr h, bad;
	struct gso g;
	size_t len;

	len = super_build(&k4, 3000, 1400, super, &h);
	bad = h, bad.csum_start = 24;
	CHECK_EQ_INT(gso_start(&g, &bad, super, len), -1, "csum_start not at the TCP header");
	bad = h, bad.gso_size = 0;
	CHECK_EQ_INT(gso_start(&g, &bad, super, len), -1, "gso_size 0");
	bad = h, bad.gso_type = VNETHDR_GSO_TCPV6;
	CHECK_EQ_INT(gso_start(&g, &bad, super, len), -1, "TCPV6 on an IPv4 packet");
	bad = h, bad.gso_type = 5; /* UDP segmentation: not asked for */
	CHECK_EQ_INT(gso_start(&g, &bad, super, len), -1, "UDP segmentation");
	CHECK_EQ_INT(gso_start(&g, &h, super, 39), -1, "headers cut");
	super[9] = 17; /* UDP */
	CHECK_EQ_INT(gso_start(&g, &h, super, len), -1, "a UDP packet as TCPV4");
	len = super_build(&k6, 3000, 1400, super, &h);
	CHECK_EQ_INT(gso_start(&g, &h, super, len), 1, "IPv6 super-packet");
	CHECK_EQ_INT(gso_next(&g, seg, 1000), -1, "a segment over the room given");
	CHECK_EQ_INT(gso_next(&g, seg, sizeof(seg)), 0, "then no more");
	super[6] = 0; /* hop-by-hop options first */
	CHECK_EQ_INT(gso_start(&g, &h, super, len), -1, "IPv6 with an extension header");
}

/* Without segmentation: the checksum completed in place where the kernel left it partial. */
static void
test_csum_only(void)
{
	uint8_t p[200];
	struct tcppkt k = {.flags = 0x18, .optlen = 12};
	struct vnethdr h = {.flags = VNETHDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16};
	struct gso g;
	size_t len = tcppkt_build(&k, payload, 101, p);

	be_put16(p + 36, tcppkt_pseudo(p, len - 20) & 0xffff);
	CHECK_EQ_INT(gso_start(&g, &h, p, len), 0, "TCP: a packet as it is");
	CHECK(tcppkt_csums_ok(p, len), "TCP checksum completed");

	/* UDP: 8-byte header, checksum at offset 6 */
	memset(p, 0, 48);
	p[0] = 0x45, p[9] = 17, p[12] = 10, p[19] = 2;
	be_put16(p + 2, 48);
	be_put16(p + 24, 28);
	memcpy(p + 28, payload, 20);
	{
		uint8_t tail[8] = {0, 0, 0, 28, 0, 0, 0, 17};
		uint32_t ps = tcppkt_sum(tail, 8, tcppkt_sum(p + 12, 8, 0));

		be_put16(p + 26, ps & 0xffff);
		h.csum_offset = 6;
		CHECK_EQ_INT(gso_start(&g, &h, p, 48), 0, "UDP: a packet as it is");
		CHECK_EQ_INT(tcppkt_sum(p + 20, 28, tcppkt_sum(tail, 8, tcppkt_sum(p + 12, 8, 0))),
		    0xffff, "UDP checksum completed");
	}
	h.csum_offset = 27;
	CHECK_EQ_INT(gso_start(&g, &h, p, 48), -1, "checksum field past the end");
	h.csum_start = 60000, h.csum_offset = 0;
	CHECK_EQ_INT(gso_start(&g, &h, p, 48), -1, "csum_start past the end");
	h.flags = 0;
	CHECK_EQ_INT(gso_start(&g, &h, p, 48), 0, "no flags: the packet as it is");
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
	test_cut();
	test_refused();
	test_csum_only();
	return check_done();
}
