/* scion mode (agent/dp_scion.c) in the data plane: a valid uplink packet reaches the sink with
 * its destination and egress interface; each uplink rule's violation is dropped (spoofed or
 * malformed), counted by SCMP code and answered into the same tunnel with an SCMP Parameter
 * Problem of the right code and pointer, from the pool's gateway to the tunnel's (ISD-AS,
 * address), its checksum verified here by tests/unit/scionpkt.h's own routine; no answer about
 * an SCMP error, none without a source address, at most the rate limit's; downlink by
 * destination for UDP, SCMP echo and an SCMP error's quote, no_tunnel for a host or ISD-AS no
 * tunnel owns, malformed for what is neither UDP nor SCMP, too_big counted unanswered. */
#include <stdio.h>
#include <string.h>

#include "../../agent/dataplane.h"
#include "../../agent/dpmode.h"
#include "../../agent/dpsink.h"
#include "check.h"
#include "dpfake.h"
#include "scionpkt.h"

#define IA_A "1-ff00:0:110"
#define IA_OTHER "2-ff00:0:222"

/* A UDP packet from (IA_A, src) to (IA_OTHER, 192.0.2.7) over a standard path of two segments
 * (2 and 3 hop fields), the current hop field's interfaces 5 (ingress) and 9 (egress). */
static void
udp_packet(struct scionpkt *p, const char *src, size_t payload)
{
	static const uint8_t bytes[1400];

	memset(p, 0, sizeof(*p));
	p->dst_ia = scionpkt_ia(IA_OTHER);
	p->src_ia = scionpkt_ia(IA_A);
	addr_parse("192.0.2.7", &p->dst);
	addr_parse(src, &p->src);
	p->path_type = 1;
	p->seg[0] = 2;
	p->seg[1] = 3;
	p->ingress[0] = 5;
	p->egress[0] = 9;
	p->next_hdr = SCIONPKT_UDP;
	p->sport = 31000;
	p->dport = 443;
	p->payload = bytes;
	p->payload_len = payload;
}

struct env {
	struct fake_sink sn;
	struct dataplane *dp;
	struct fake fa, fb;
	struct dp_port pa, pb;
	struct dp_pool pool;
};

static void
env_init(struct env *e)
{
	struct dp_sink sink = {.name = "record", .output = fake_sink_output, .arg = &e->sn};
	struct addr a;

	memset(e, 0, sizeof(*e));
	e->dp = dataplane_new(&dp_scion_mode, &sink, fake_send, fake_room);
	e->fa.max = e->fb.max = 1400;
	e->pa.conn = &e->fa;
	e->pb.conn = &e->fb;
	prefix_parse("10.9.0.0/24", &e->pool.prefix, NULL, 0, &(const char *){NULL});
	e->pool.isd_as = scionpkt_ia(IA_A);
	addr_parse("10.9.0.254", &e->pool.gateway);
	dataplane_pools_set(e->dp, &e->pool, 1);
	addr_parse("10.9.0.1", &a);
	dataplane_route_add(e->dp, &e->pa, &a);
	addr_parse("10.9.0.2", &a);
	dataplane_route_add(e->dp, &e->pb, &a);
}

static void
test_valid(void)
{
	struct env e;
	struct scionpkt p;
	struct addr want;
	uint8_t pkt[1500];
	size_t n;

	env_init(&e);
	udp_packet(&p, "10.9.0.1", 100);
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	addr_parse("192.0.2.7", &want);
	CHECK(e.sn.n == 1 && e.sn.len == n && memcmp(e.sn.last, pkt, n) == 0,
	    "a valid packet reaches the sink unchanged");
	CHECK(dataplane_addr_eq(&e.sn.dst.host, &want) &&
		e.sn.dst.isd_as == scionpkt_ia(IA_OTHER) && e.sn.dst.egress_if == 5,
	    "with its destination (ISD-AS, host) and egress interface (ConsIngress, C unset)");
	p.cons_dir[0] = 1;
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	CHECK(e.sn.n == 2 && e.sn.dst.egress_if == 9, "C set: the hop field's ConsEgress, 9");
	p.curr_inf = 1;
	p.curr_hf = 3;
	p.ingress[3] = 17;
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	CHECK(e.sn.n == 3 && e.sn.dst.egress_if == 17,
	    "the current hop field's (second segment, C unset): 17");
	CHECK(e.fa.sent == 0 && e.pa.c.dropped_packets == 0, "nothing answered, nothing dropped");
	dataplane_free(e.dp);
}

/* Send pkt (n bytes) up from A and check the answer: an SCMP Parameter Problem of code and
 * pointer, from the gateway to A, quoting the packet, its checksum right. */
static void
expect_problem(
    struct env *e, const uint8_t *pkt, size_t n, unsigned code, unsigned pointer, const char *what)
{
	struct scionpkt_view v;
	struct addr gw, a;
	int sent = e->fa.sent, seen = e->sn.n, read;
	size_t quoted;

	memset(&v, 0, sizeof(v));
	dataplane_uplink(e->dp, &e->pa, pkt, n);
	addr_parse("10.9.0.254", &gw);
	addr_parse("10.9.0.1", &a);
	CHECK(e->sn.n == seen && e->fa.sent == sent + 1, "%s: dropped and answered", what);
	if (e->fa.sent != sent + 1)
		return;
	read = scionpkt_read(e->fa.last, e->fa.last_len, &v);
	CHECK(read == 0 && v.next_hdr == SCIONPKT_SCMP && v.scmp_type == 4 && v.scmp_code == code &&
		v.scmp_b == pointer,
	    "%s: SCMP Parameter Problem code %u pointer %u (got type %u code %u pointer %u)", what,
	    code, pointer, v.scmp_type, v.scmp_code, v.scmp_b);
	quoted = n < v.quote_len ? n : v.quote_len;
	CHECK(v.csum_ok && v.path_type == 0 && v.src_ia == scionpkt_ia(IA_A) &&
		v.dst_ia == scionpkt_ia(IA_A) && dataplane_addr_eq(&v.src, &gw) &&
		dataplane_addr_eq(&v.dst, &a) && e->fa.last_len <= 1232 && quoted > 0 &&
		memcmp(e->fa.last + v.quote, pkt, quoted) == 0,
	    "%s: checksum right, empty path, from the gateway to A's (ISD-AS, address), the "
	    "packet quoted",
	    what);
}

static void
test_problems(void)
{
	struct dp_stats s;
	struct scionpkt p;
	struct env e;
	uint8_t pkt[1500];
	size_t n, path;

	env_init(&e);
	path = 28 + 4 + 4; /* IPv4 hosts */

	udp_packet(&p, "10.9.0.1", 100);
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	pkt[0] = 0x10; /* version 1 */
	expect_problem(&e, pkt, n, 16, 0, "version 1");

	n = scionpkt_build(&p, pkt, sizeof(pkt));
	pkt[9] = 0x33; /* both hosts IPv6: 60 bytes of address header in a 36-byte header */
	pkt[5] = 9;
	expect_problem(&e, pkt, n, 32, 12, "address header past HdrLen");

	udp_packet(&p, "10.9.0.7", 100);
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	expect_problem(&e, pkt, n, 33, 32, "another source host");
	udp_packet(&p, "10.9.0.1", 100);
	p.src_ia = scionpkt_ia(IA_OTHER);
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	expect_problem(&e, pkt, n, 33, 20, "another source ISD-AS");
	{
		/* the same address in IPv4-mapped IPv6 form is another address */
		udp_packet(&p, "::ffff:10.9.0.1", 100);
		n = scionpkt_build(&p, pkt, sizeof(pkt));
		expect_problem(&e, pkt, n, 33, 32, "the source host as IPv4-mapped IPv6");
	}

	udp_packet(&p, "10.9.0.1", 100);
	p.seg[0] = 0; /* an empty segment before a used one */
	p.seg[1] = 3;
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	expect_problem(&e, pkt, n, 48, (unsigned)path, "a hole in the segment lengths");
	udp_packet(&p, "10.9.0.1", 100);
	p.curr_hf = 5; /* 5 hop fields: 0..4 */
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	expect_problem(&e, pkt, n, 48, (unsigned)path, "CurrHF past the hop fields");
	udp_packet(&p, "10.9.0.1", 100);
	p.curr_inf = 2;
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	expect_problem(&e, pkt, n, 48, (unsigned)path, "CurrINF past the segments");

	udp_packet(&p, "10.9.0.1", 100);
	p.path_type = 0;
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	expect_problem(&e, pkt, n, 20, 8, "an empty path");
	udp_packet(&p, "10.9.0.1", 100);
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	pkt[8] = 3; /* EPIC */
	expect_problem(&e, pkt, n, 20, 8, "path type 3");

	/* HdrLen one word longer than the path: 4 bytes left over (PayloadLen four less) */
	udp_packet(&p, "10.9.0.1", 100);
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	pkt[5]++;
	scionpkt_put16(pkt + 6, scionpkt_get16(pkt + 6) - 4);
	expect_problem(&e, pkt, n, 48, (unsigned)path, "bytes between the path and HdrLen");

	udp_packet(&p, "10.9.0.1", 100);
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	expect_problem(&e, pkt, n + 1, 19, (unsigned)path, "a byte past PayloadLen");
	expect_problem(&e, pkt, n - 1, 19, (unsigned)path, "a byte short of PayloadLen");

	dataplane_stats(e.dp, &s);
	CHECK(s.spoofed == 3 && e.pa.c.drops[COUNTERS_DROP_SPOOFED] == 3 && s.malformed == 10 &&
		e.pa.c.drops[COUNTERS_DROP_MALFORMED] == 10,
	    "code 33 counted spoofed (3), the others malformed (10), at A");
	/* the mode's counts, in the order of its names: 16 19 20 32 33 48 */
	CHECK(s.mode[0] == 1 && s.mode[1] == 2 && s.mode[2] == 2 && s.mode[3] == 1 &&
		s.mode[4] == 3 && s.mode[5] == 4,
	    "counted by SCMP code: 16:1 19:2 20:2 32:1 33:3 48:4");
	CHECK(strcmp(dp_scion_mode.counts[5], "48") == 0 && dp_scion_mode.counts[6] == NULL,
	    "the counts are named by their codes");
	CHECK(s.answers == 13, "13 answers sent");

	/* an SCMP error is never answered, however wrong */
	udp_packet(&p, "10.9.0.7", 0);
	p.next_hdr = SCIONPKT_SCMP;
	p.scmp_type = 1; /* destination unreachable */
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	{
		int sent = e.fa.sent;

		dataplane_uplink(e.dp, &e.pa, pkt, n);
		CHECK(e.fa.sent == sent && e.pa.c.drops[COUNTERS_DROP_SPOOFED] == 4,
		    "a spoofed SCMP error: dropped, counted, not answered");
	}
	/* a pool without an address to answer from: dropped, counted, not answered */
	{
		int sent = e.fa.sent;

		e.pool.gateway.family = 0;
		dataplane_pools_set(e.dp, &e.pool, 1);
		udp_packet(&p, "10.9.0.7", 10);
		n = scionpkt_build(&p, pkt, sizeof(pkt));
		dataplane_uplink(e.dp, &e.pa, pkt, n);
		CHECK(e.fa.sent == sent && e.pa.c.drops[COUNTERS_DROP_SPOOFED] == 5,
		    "no source address for the answer: none sent, the drop counted");
	}
	dataplane_free(e.dp);
}

static void
test_rate(void)
{
	struct scionpkt p;
	struct dp_stats s;
	struct env e;
	uint8_t pkt[1500];
	size_t n;

	env_init(&e);
	udp_packet(&p, "10.9.0.7", 10);
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	for (int i = 0; i < 50; i++)
		dataplane_uplink(e.dp, &e.pa, pkt, n);
	dataplane_stats(e.dp, &s);
	CHECK(e.fa.sent <= DP_ANSWER_BURST + 1 && e.fa.sent >= DP_ANSWER_BURST - 1 &&
		s.answers_limited >= 50 - DP_ANSWER_BURST - 1 && s.spoofed == 50,
	    "50 bad packets: at most the burst (%d) answered, all 50 counted", e.fa.sent);
	dataplane_free(e.dp);
}

/* A packet from the underlay: from (IA_OTHER, 192.0.2.7) to (dst_ia, dst). */
static size_t
down(struct scionpkt *p, const char *dst_ia, const char *dst, uint8_t *pkt, size_t cap)
{
	udp_packet(p, "192.0.2.7", 64);
	p->src_ia = scionpkt_ia(IA_OTHER);
	addr_parse("192.0.2.7", &p->src);
	p->dst_ia = scionpkt_ia(dst_ia);
	addr_parse(dst, &p->dst);
	return scionpkt_build(p, pkt, cap);
}

static void
test_downlink(void)
{
	uint8_t pkt[1500], quoted[200];
	struct scionpkt p, q;
	struct dp_stats s;
	struct env e;
	size_t n, qn;

	env_init(&e);
	n = down(&p, IA_A, "10.9.0.2", pkt, sizeof(pkt));
	dataplane_downlink(e.dp, pkt, n);
	CHECK(e.fb.sent == 1 && e.fb.last_len == n && memcmp(e.fb.last, pkt, n) == 0,
	    "UDP to (IA, 10.9.0.2): into B unchanged");
	p.next_hdr = SCIONPKT_SCMP;
	p.scmp_type = 129; /* echo reply */
	p.scmp_a = 4711;
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	dataplane_downlink(e.dp, pkt, n);
	CHECK(e.fb.sent == 2, "an SCMP echo reply to B: into B");
	/* an error quoting a packet B sent (from port 31000) */
	udp_packet(&q, "10.9.0.2", 20);
	qn = scionpkt_build(&q, quoted, sizeof(quoted));
	p.scmp_type = 1;
	p.scmp_a = p.scmp_b = 0;
	p.payload = quoted;
	p.payload_len = qn;
	n = scionpkt_build(&p, pkt, sizeof(pkt));
	dataplane_downlink(e.dp, pkt, n);
	CHECK(e.fb.sent == 3 && e.fa.sent == 0, "an SCMP error quoting B's packet: into B");

	n = down(&p, IA_A, "10.9.0.9", pkt, sizeof(pkt));
	dataplane_downlink(e.dp, pkt, n);
	n = down(&p, IA_OTHER, "10.9.0.2", pkt, sizeof(pkt));
	dataplane_downlink(e.dp, pkt, n);
	dataplane_stats(e.dp, &s);
	CHECK(s.no_tunnel == 2 && s.unowned.drops[COUNTERS_DROP_NO_TUNNEL] == 2 && e.fb.sent == 3,
	    "a host no tunnel owns, and B's host in another ISD-AS: no_tunnel, unowned");
	n = down(&p, IA_A, "10.9.0.2", pkt, sizeof(pkt));
	pkt[4] = 6; /* TCP */
	dataplane_downlink(e.dp, pkt, n);
	dataplane_downlink(e.dp, pkt, 20);
	dataplane_stats(e.dp, &s);
	CHECK(s.malformed == 2 && s.unowned.drops[COUNTERS_DROP_MALFORMED] == 2 && e.fb.sent == 3,
	    "neither UDP nor SCMP, and a cut header: malformed");
	e.fb.max = 100;
	n = down(&p, IA_A, "10.9.0.2", pkt, sizeof(pkt));
	dataplane_downlink(e.dp, pkt, n);
	dataplane_stats(e.dp, &s);
	CHECK(s.too_big == 1 && e.pb.c.drops[COUNTERS_DROP_TOO_BIG] == 1 && s.answers == 0,
	    "over B's room: too_big at B, no answer (no reversed path is built)");
	dataplane_free(e.dp);
}

int
main(void)
{
	test_valid();
	test_problems();
	test_rate();
	test_downlink();
	return check_done();
}
