/* lib/gro.c: segments as the tunnel brings them (tcppkt.h: IPv4 and IPv6, right checksums)
 * joined into super-packets whose headers are checked field by field and which lib/gso.c cuts
 * back into the very same packets (the round trip); and every packet that must stay alone:
 * another flow in between (joined per flow), a gap in the sequence, a wrong checksum, FIN, SYN,
 * other options, a longer segment, a non-TCP packet, the 64 KiB limit; a full table. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/gro.h"
#include "../../lib/gso.h"
#include "check.h"
#include "tcppkt.h"

#define SEGS_MAX 64

static uint8_t payload[70000];
static uint8_t pkts[SEGS_MAX][1600];
static size_t lens[SEGS_MAX];

/* n segments of k, mss payload each but the last (last bytes, PSH on it when push). */
static void
make_burst(struct tcppkt k, unsigned n, size_t mss, size_t last, int push)
{
	for (unsigned i = 0; i < n; i++) {
		struct tcppkt s = k;
		size_t part = i + 1 == n ? last : mss;

		s.id = (uint16_t)(k.id + i);
		s.seq = k.seq + (uint32_t)(i * mss);
		if (push && i + 1 == n)
			s.flags |= 0x08;
		lens[i] = tcppkt_build(&s, payload + i * mss, part, pkts[i]);
	}
}

/* Join the n packets of pkts (all of one burst), check the super-packet, cut it back and
 * compare with pkts. */
static void
check_round_trip(const char *what, int v6, unsigned n, size_t mss, size_t last)
{
	static uint8_t seg[70000];
	struct tcppkt k = {
	    .v6 = v6, .id = 65530, .seq = 0xffffff00, .ack = 9, .flags = 0x10, .optlen = 12};
	size_t ihl = v6 ? 40 : 20, bytes = 0, total;
	struct gro g;
	struct gso gs;
	struct vnethdr h;
	const uint8_t *p;
	unsigned i, same = 0;
	ssize_t got;

	make_burst(k, n, mss, last, 1);
	CHECK_EQ_INT(gro_init(&g, 4), 0, "%s: init", what);
	for (i = 0; i < n; i++) {
		CHECK_EQ_INT(gro_add(&g, pkts[i], lens[i]), 0, "%s: segment %u taken", what, i);
		bytes += lens[i];
	}
	gro_finish(&g);
	total = ihl + 32 + (n - 1) * mss + last;
	CHECK_EQ_INT(g.n, 1, "%s: one entry", what);
	CHECK_EQ_INT(g.e[0].segs, n, "%s: of %u segments", what, n);
	CHECK_EQ_INT(g.e[0].len, total, "%s: %zu bytes", what, total);
	CHECK_EQ_INT(g.e[0].bytes, bytes, "%s: counted as the segments' bytes", what);
	vnethdr_get(g.e[0].buf, &h);
	p = g.e[0].buf + VNETHDR_LEN;
	CHECK(h.flags == VNETHDR_F_NEEDS_CSUM &&
		h.gso_type == (v6 ? VNETHDR_GSO_TCPV6 : VNETHDR_GSO_TCPV4) && h.gso_size == mss &&
		h.hdr_len == ihl + 32 && h.csum_start == ihl && h.csum_offset == 16,
	    "%s: the vnet header (type %u, size %u, start %u)", what, h.gso_type, h.gso_size,
	    h.csum_start);
	if (v6)
		CHECK_EQ_INT(p[4] << 8 | p[5], total - 40, "%s: IPv6 payload length", what);
	else
		CHECK((size_t)(p[2] << 8 | p[3]) == total && tcppkt_sum(p, 20, 0) == 0xffff &&
			(p[4] << 8 | p[5]) == 65530,
		    "%s: IPv4 total length, header checksum, the first identification", what);
	CHECK_EQ_INT(p[ihl + 16] << 8 | p[ihl + 17], tcppkt_pseudo(p, total - ihl),
	    "%s: the TCP checksum field holds the pseudo-header sum", what);
	CHECK_EQ_INT(p[ihl + 13], 0x18, "%s: ACK and the last segment's PSH", what);
	CHECK_EQ_INT(be_get32(p + ihl + 4), 0xffffff00, "%s: the first sequence number", what);

	CHECK_EQ_INT(
	    gso_start(&gs, &h, g.e[0].buf + VNETHDR_LEN, g.e[0].len), 1, "%s: cut again", what);
	for (i = 0; (got = gso_next(&gs, seg, sizeof(seg))) > 0; i++)
		if (i < n && (size_t)got == lens[i] && memcmp(seg, pkts[i], lens[i]) == 0)
			same++;
	CHECK(i == n && same == n, "%s: cut back into the same %u packets (%u, %u same)", what, n,
	    i, same);
	gro_free(&g);
}

static void
test_round_trips(void)
{
	check_round_trip("IPv4 10 x 1388", 0, 10, 1388, 1388);
	check_round_trip("IPv4 a last segment of 1 byte", 0, 7, 1388, 1);
	check_round_trip("IPv6 20 x 1368, last 500", 1, 20, 1368, 500);
	check_round_trip("IPv6 two segments", 1, 2, 1200, 1200);
	check_round_trip("IPv4 up to 64 KiB", 0, 47, 1400, 65535 - 52 - 46 * 1400);
}

/* Add pkts[0..n) to a new table and return how many entries it made, segments per entry into
 * segs (0 for a lone packet that is not one of pkts as it was, behind a zeroed header). */
static unsigned
entries(unsigned n, unsigned *segs)
{
	struct gro g;
	unsigned e;

	if (gro_init(&g, SEGS_MAX) != 0)
		abort();
	for (unsigned i = 0; i < n; i++)
		if (gro_add(&g, pkts[i], lens[i]) != 0)
			abort();
	gro_finish(&g);
	for (e = 0; e < g.n; e++) {
		struct vnethdr h;

		segs[e] = g.e[e].segs;
		vnethdr_get(g.e[e].buf, &h);
		/* a lone packet goes as it came, behind a zeroed header: else 0 */
		if (g.e[e].segs == 1) {
			int found = 0;

			for (unsigned j = 0; j < n; j++)
				found |= g.e[e].len == lens[j] &&
				    memcmp(g.e[e].buf + VNETHDR_LEN, pkts[j], lens[j]) == 0;
			if (!found || h.flags != 0 || h.gso_type != 0)
				segs[e] = 0;
		}
	}
	e = g.n;
	gro_free(&g);
	return e;
}

static void
test_alone(void)
{
	struct tcppkt k = {.seq = 1000, .ack = 1, .flags = 0x10, .id = 1};
	unsigned segs[SEGS_MAX] = {0};

	/* two flows interleaved: each joined on its own */
	make_burst(k, 3, 1000, 1000, 0);
	memcpy(pkts[3], pkts[1], lens[1]), lens[3] = lens[1];
	memcpy(pkts[4], pkts[2], lens[2]), lens[4] = lens[2];
	k.src_last = 9;
	{
		struct tcppkt o = k;

		o.seq = 5000;
		lens[1] = tcppkt_build(&o, payload, 1000, pkts[1]);
		o.seq += 1000, o.id++;
		lens[2] = tcppkt_build(&o, payload, 1000, pkts[2]);
	}
	CHECK(entries(5, segs) == 2 && segs[0] == 3 && segs[1] == 2,
	    "two flows interleaved: an entry each (%u, %u)", segs[0], segs[1]);

	k.src_last = 0;
	make_burst(k, 3, 1000, 1000, 0);
	be_put32(pkts[1] + 24, 1001); /* a gap: not the next sequence number */
	CHECK(entries(3, segs) == 3, "a gap in the sequence: alone, and the flow after it too");

	make_burst(k, 3, 1000, 1000, 0);
	pkts[1][60] ^= 1; /* a payload byte: the checksum is wrong now */
	CHECK(entries(3, segs) == 3, "a wrong TCP checksum: alone (the kernel drops it)");

	make_burst(k, 3, 1000, 1000, 0);
	pkts[1][11] ^= 1; /* the IPv4 header checksum */
	CHECK(entries(3, segs) == 3, "a wrong IPv4 header checksum: alone");

	k.flags = 0x11; /* FIN */
	make_burst(k, 2, 1000, 1000, 0);
	CHECK(entries(2, segs) == 2, "FIN: alone");
	k.flags = 0x12; /* SYN ACK */
	make_burst(k, 2, 1000, 1000, 0);
	CHECK(entries(2, segs) == 2, "SYN: alone");
	k.flags = 0x10;

	make_burst(k, 3, 1000, 1000, 0);
	{
		struct tcppkt o = k;

		o.optlen = 12, o.seq = 3000, o.id = 3;
		lens[2] = tcppkt_build(&o, payload, 1000, pkts[2]);
	}
	CHECK(entries(3, segs) == 2 && segs[0] == 2, "other options: a new entry");

	make_burst(k, 3, 1000, 1200, 0); /* the last longer than the first */
	CHECK(entries(3, segs) == 2 && segs[0] == 2, "a longer segment: a new entry");

	make_burst(k, 4, 1000, 500, 0);
	{
		struct tcppkt o = k;

		o.seq = 1000 + 3500, o.id = 5;
		lens[4] = tcppkt_build(&o, payload, 1000, pkts[4]);
	}
	CHECK(entries(5, segs) == 2 && segs[0] == 4, "after a short segment: a new entry");

	make_burst(k, 3, 1000, 1000, 0);
	{
		struct tcppkt o = k;

		/* URG clear, but the field differs: a super-packet's one header would give every
		 * segment the first's (a crash input of fuzz_gro) */
		o.seq = 2000, o.id = 2, o.urg = 7;
		lens[1] = tcppkt_build(&o, payload + 1000, 1000, pkts[1]);
	}
	CHECK(entries(3, segs) == 3, "another urgent pointer (URG clear): alone, and after it too");

	make_burst(k, 3, 1000, 1000, 0);
	pkts[1][5] ^= 7; /* the identification does not follow */
	CHECK(entries(3, segs) == 3, "IPv4 identification out of order: alone");

	make_burst(k, 3, 1000, 1000, 0);
	pkts[1][8] = 63; /* TTL */
	pkts[1][10] = 0, pkts[1][11] = 0;
	be_put16(pkts[1] + 10, ~tcppkt_sum(pkts[1], 20, 0) & 0xffff);
	CHECK(entries(3, segs) == 3, "another TTL: alone");

	/* a UDP packet and an ICMP echo in a burst: alone, behind zeroed headers */
	make_burst(k, 2, 1000, 1000, 0);
	memcpy(pkts[2], pkts[0], lens[0]), lens[2] = lens[0];
	pkts[0][9] = 17;
	CHECK(entries(3, segs) == 3 && segs[0] == 1, "a UDP packet: alone as it came");
	lens[0] = 28;
	memset(pkts[0], 0, 28);
	pkts[0][0] = 0x45, pkts[0][3] = 28, pkts[0][9] = 1, pkts[0][20] = 8;
	CHECK(entries(1, segs) == 1 && segs[0] == 1, "an ICMP echo: alone as it came");
	lens[0] = 3;
	CHECK(entries(1, segs) == 1 && segs[0] == 1, "3 bytes: alone as they came");
}

static void
test_limits(void)
{
	struct tcppkt k = {.seq = 1, .flags = 0x10};
	struct gro g;
	unsigned i;

	make_burst(k, 50, 1400, 1400, 0); /* 70 000 payload bytes: over 64 KiB */
	CHECK_EQ_INT(gro_init(&g, 2), 0, "init");
	for (i = 0; i < 50; i++)
		if (gro_add(&g, pkts[i], lens[i]) != 0)
			break;
	CHECK(i == 50 && g.n == 2 && g.e[0].segs == 46 && g.e[0].len <= 65535,
	    "past 64 KiB a second entry (%u entries, %u segments in the first)", g.n, g.e[0].segs);
	k.src_last = 7;
	lens[0] = tcppkt_build(&k, payload, 10, pkts[0]);
	CHECK_EQ_INT(gro_add(&g, pkts[0], lens[0]), -1, "a full table refuses");
	gro_reset(&g);
	CHECK_EQ_INT(gro_add(&g, pkts[0], lens[0]), 0, "after a reset it takes it");
	CHECK_EQ_INT(gro_add(&g, payload, 65536), -1, "over 64 KiB: refused");
	gro_free(&g);
	gro_free(&g); /* twice is fine */
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + (i >> 9));
	test_round_trips();
	test_alone();
	test_limits();
	return check_done();
}
