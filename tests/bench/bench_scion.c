/* The scion mode's uplink check (lib/scion.h: scion_uplink_check) beside the ip mode's, measured
 * in the same run on packets of the same size (1200 bytes): the reference is what
 * agent/dp_ip.c does with an uplink packet before it routes it, ippkt_parse and the source
 * compare (dataplane_addr_eq). The cases are interleaved in batches, so that all see the same
 * machine (frequency, neighbours). Rows:
 *
 *   ip, IPv4 (reference)       a 1200-byte IPv4/UDP packet
 *   scion, IPv4, 2 segments    the target's case: IPv4 hosts, 2 segments of 2 hop fields (the
 *                              shape of the golden tests/data/scion/scion-udp.bin)
 *   ip, IPv6                   a 1200-byte IPv6/UDP packet
 *   scion, IPv6, 3 x 4 hops    IPv6 hosts, 3 segments of 4 hop fields: a longer path to walk
 *   ip, IPv4, fixed compare    not the agent's code: the IPv4 reference with the source
 *                              compared as 4 bytes known at compile time
 *
 * "vs ref" puts each row beside the ip row of its family. Most of the reference's time is the
 * data plane's address compare (dataplane_addr_eq: a memcmp whose length, 4 or 16, is chosen
 * at run time, so a call into libc); the last row shows what the ip check costs without it.
 * The SCION check compares per family, with the length known at compile time.
 *
 *   bench_scion              BENCH_QUICK=1: shorter rounds.
 *
 * A missed target (the scion check within 10% of the ip check: at least 90% of its rate,
 * medians of the IPv4 rows) is reported, not fatal: the exit status is non-zero only when a
 * packet fails its check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/dataplane.h"
#include "../../agent/ippkt.h"
#include "../../lib/be.h"
#include "../../lib/clock.h"
#include "../../lib/scion.h"

#define PKT_SIZE 1200
#define ROUNDS 5
#define BATCH 4096
#define TARGET_PCT 90.0

enum { IP4, SCION4, IP6, SCION6, IP4_FIXED, NCASES };

static const char *const case_name[NCASES] = {
    "ip, IPv4 (reference)",
    "scion, IPv4, 2 segments",
    "ip, IPv6",
    "scion, IPv6, 3 x 4 hops",
    "ip, IPv4, fixed compare",
};

struct bench {
	uint8_t pkt[NCASES][PKT_SIZE];
	struct addr src4, src6;
	uint64_t ia;
};

static void
die(const char *what)
{
	fprintf(stderr, "bench_scion: %s\n", what);
	exit(1);
}

/* A SCION/UDP packet of PKT_SIZE bytes from (ia, src) over a standard path of nseg segments
 * of hops hop fields each, CurrHF at the first segment's last hop field. */
static void
scion_packet(uint8_t *p, uint64_t ia, const struct addr *src, unsigned nseg, unsigned hops)
{
	size_t alen = src->family == 4 ? 4 : 16, off = 28, hdr;
	uint32_t meta = (hops - 1) << 24;

	memset(p, 0, PKT_SIZE);
	p[0] = 0x0b; /* traffic class 0xb8, a flow ID */
	p[1] = 0x80;
	p[3] = 0x01;
	p[4] = SCION_PROTO_UDP;
	p[8] = SCION_PATH_STANDARD;
	p[9] = src->family == 4 ? 0x00 : 0x33;
	be_put64(p + 12, 0x0002ff0000000220ULL);
	be_put64(p + 20, ia);
	memset(p + off, 0x20, alen); /* the destination host */
	off += alen;
	memcpy(p + off, src->b, alen);
	off += alen;
	for (unsigned s = 0; s < nseg; s++)
		meta |= hops << (12 - 6 * s);
	be_put32(p + off, meta);
	off += 4;
	for (unsigned s = 0; s < nseg; s++, off += 8)
		p[off] = (uint8_t)(s & 1); /* the C flag on every other segment */
	for (unsigned k = 0; k < nseg * hops; k++, off += 12) {
		be_put16(p + off + 2, 100 + k);
		be_put16(p + off + 4, 200 + k);
	}
	hdr = off;
	p[5] = (uint8_t)(hdr / 4);
	be_put16(p + 6, (unsigned)(PKT_SIZE - hdr));
	be_put16(p + hdr, 40000);
	be_put16(p + hdr + 2, 443);
	be_put16(p + hdr + 4, (unsigned)(PKT_SIZE - hdr));
}

/* An IP/UDP packet of PKT_SIZE bytes from src (checksums are not what the check reads). */
static void
ip_packet(uint8_t *p, const struct addr *src)
{
	memset(p, 0, PKT_SIZE);
	if (src->family == 4) {
		p[0] = 0x45;
		be_put16(p + 2, PKT_SIZE);
		p[8] = 64;
		p[9] = 17;
		memcpy(p + 12, src->b, 4);
		memset(p + 16, 0x20, 4);
	} else {
		p[0] = 0x60;
		be_put16(p + 4, PKT_SIZE - 40);
		p[6] = 17;
		p[7] = 64;
		memcpy(p + 8, src->b, 16);
		memset(p + 24, 0x20, 16);
	}
}

/* One check of case c: 0 when the packet passes. */
static int
check_one(const struct bench *b, int c)
{
	switch (c) {
	case IP4:
	case IP6: {
		struct ippkt ip;
		const struct addr *want = c == IP4 ? &b->src4 : &b->src6;

		return ippkt_parse(b->pkt[c], PKT_SIZE, &ip) != 0 ||
		    !dataplane_addr_eq(want, &ip.src);
	}
	case IP4_FIXED: {
		struct ippkt ip;

		return ippkt_parse(b->pkt[c], PKT_SIZE, &ip) != 0 || ip.src.family != 4 ||
		    memcmp(ip.src.b, b->src4.b, 4) != 0;
	}
	default: {
		struct scion_hdr h;
		unsigned ptr;

		return scion_uplink_check(
		    b->pkt[c], PKT_SIZE, b->ia, c == SCION4 ? &b->src4 : &b->src6, &h, &ptr);
	}
	}
}

/* One round: every case in turn, BATCH checks at a time, for about secs seconds in all;
 * checks/s into rate. */
static void
measure(const struct bench *b, double secs, double rate[NCASES])
{
	uint64_t spent[NCASES] = {0}, n[NCASES] = {0}, start = clock_mono_ns(), t0, t1;
	int bad = 0;

	do {
		for (int c = 0; c < NCASES; c++) {
			t0 = clock_mono_ns();
			for (int i = 0; i < BATCH; i++)
				bad |= check_one(b, c);
			t1 = clock_mono_ns();
			spent[c] += t1 - t0;
			n[c] += BATCH;
		}
	} while ((double)(t1 - start) < secs * 1e9);
	if (bad)
		die("a packet failed its check");
	for (int c = 0; c < NCASES; c++)
		rate[c] = (double)n[c] * 1e9 / (double)spent[c];
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(void)
{
	static struct bench b;
	const char *q = getenv("BENCH_QUICK");
	int quick = q != NULL && q[0] != '\0' && strcmp(q, "0") != 0;
	double secs = quick ? 0.3 : 1.5, rate[ROUNDS][NCASES], med[NCASES], best[NCASES], pct;

	if (addr_parse("10.20.0.7", &b.src4) != 0 || addr_parse("2001:db8:20::7", &b.src6) != 0)
		die("addresses");
	b.ia = 0x0001ff0000000110ULL;
	ip_packet(b.pkt[IP4], &b.src4);
	ip_packet(b.pkt[IP6], &b.src6);
	ip_packet(b.pkt[IP4_FIXED], &b.src4);
	scion_packet(b.pkt[SCION4], b.ia, &b.src4, 2, 2);
	scion_packet(b.pkt[SCION6], b.ia, &b.src6, 3, 4);

	printf("== bench_scion\n");
	printf("uplink checks/s on one core, %d-byte packets; %d rounds of %.1fs, the cases "
	       "interleaved in batches of %d%s\n",
	    PKT_SIZE, ROUNDS, secs, BATCH, quick ? " (BENCH_QUICK)" : "");
	measure(&b, 0.2, rate[0]); /* warm-up */
	for (int r = 0; r < ROUNDS; r++)
		measure(&b, secs, rate[r]);
	printf("%-28s %12s %12s %8s %8s\n", "case", "median/s", "best/s", "ns", "vs ref");
	for (int c = 0; c < NCASES; c++) {
		double v[ROUNDS];

		for (int r = 0; r < ROUNDS; r++)
			v[r] = rate[r][c];
		qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
		med[c] = v[ROUNDS / 2];
		best[c] = v[ROUNDS - 1];
		printf("%-28s %12.0f %12.0f %8.1f %7.0f%%\n", case_name[c], med[c], best[c],
		    1e9 / med[c], 100 * med[c] / med[c == IP6 || c == SCION6 ? IP6 : IP4]);
	}
	pct = 100 * med[SCION4] / med[IP4];
	printf("target: scion check >= %.0f%% of the ip check (IPv4, medians): %.0f%%   %s\n",
	    TARGET_PCT, pct, pct >= TARGET_PCT ? "met" : "MISSED");
	return 0;
}
