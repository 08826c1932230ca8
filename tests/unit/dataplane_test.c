/* The data plane (agent/dataplane.h) in ip mode (agent/dpmode.h, agent/ippkt.h): header parsing
 * with every bound, the route table (add, find, take-over, delete, growth), the uplink verdicts
 * through the hub sink with their counters (forwarded, spoofed, no route, malformed, too big,
 * blocked, unassigned, isolated), the downlink, a sink of another kind (agent/dpsink.h) taking
 * what the mode passed, the router's duties (hop count, ICMP time exceeded and too big with
 * their sources, the answers' rate limit) and the tun sink (agent/dp_tun.h) on a socket pair
 * standing in for the device. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/dataplane.h"
#include "../../agent/dpmode.h"
#include "../../agent/dp_tun.h"
#include "../../agent/dpsink.h"
#include "../../agent/ippkt.h"
#include "check.h"
#include "dpfake.h"

#define TTL 64 /* of the packets the tests build */

static size_t
v4(uint8_t *p, const char *src, const char *dst, size_t len)
{
	struct addr s, d;

	memset(p, 0, len);
	addr_parse(src, &s);
	addr_parse(dst, &d);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = 0x40; /* DF: a router answers "fragmentation needed" for these only */
	p[8] = TTL;
	p[9] = 17;
	memcpy(p + 12, s.b, 4);
	memcpy(p + 16, d.b, 4);
	return len;
}

static size_t
v6(uint8_t *p, const char *src, const char *dst, size_t payload)
{
	struct addr s, d;

	memset(p, 0, 40 + payload);
	addr_parse(src, &s);
	addr_parse(dst, &d);
	p[0] = 0x60;
	p[4] = (uint8_t)(payload >> 8);
	p[5] = (uint8_t)payload;
	p[6] = 17;
	p[7] = TTL;
	memcpy(p + 8, s.b, 16);
	memcpy(p + 24, d.b, 16);
	return 40 + payload;
}

static void
test_parse(void)
{
	uint8_t p[1500];
	struct ippkt ip;
	struct addr want;
	size_t n;

	n = v4(p, "10.0.0.1", "10.0.0.2", 28);
	CHECK_EQ_INT(ippkt_parse(p, n, &ip), 0, "IPv4 packet parses");
	addr_parse("10.0.0.2", &want);
	CHECK(ip.family == 4 && ip.proto == 17 && ip.hdr_len == 20 &&
		memcmp(ip.dst.b, want.b, 4) == 0 && ip.src.b[3] == 1,
	    "IPv4 fields");
	CHECK_EQ_INT(ippkt_parse(p, n - 1, &ip), -1, "IPv4 total length over the datagram");
	CHECK_EQ_INT(ippkt_parse(p, 19, &ip), -1, "IPv4 shorter than a header");
	p[0] = 0x44;
	CHECK_EQ_INT(ippkt_parse(p, n, &ip), -1, "IPv4 IHL 4");
	p[0] = 0x4f;
	CHECK_EQ_INT(ippkt_parse(p, n, &ip), -1, "IPv4 IHL 15 beyond the packet");
	p[0] = 0x46;
	CHECK_EQ_INT(ippkt_parse(p, n, &ip), 0, "IPv4 with 4 bytes of options");
	CHECK_EQ_INT(ip.hdr_len, 24, "options counted");

	n = v6(p, "2001:db8::1", "2001:db8::2", 8);
	CHECK_EQ_INT(ippkt_parse(p, n, &ip), 0, "IPv6 packet parses");
	addr_parse("2001:db8::2", &want);
	CHECK(ip.family == 6 && ip.proto == 17 && memcmp(ip.dst.b, want.b, 16) == 0, "IPv6 fields");
	CHECK_EQ_INT(ippkt_parse(p, n + 1, &ip), -1, "IPv6 payload length short of the datagram");
	CHECK_EQ_INT(ippkt_parse(p, 39, &ip), -1, "IPv6 shorter than a header");
	n = v6(p, "2001:db8::1", "2001:db8::2", 0);
	CHECK_EQ_INT(ippkt_parse(p, n, &ip), 0, "IPv6 empty payload");
	p[0] = 0x50;
	CHECK_EQ_INT(ippkt_parse(p, n, &ip), -1, "version 5");
	CHECK_EQ_INT(ippkt_parse(p, 0, &ip), -1, "empty datagram");
}

static void
test_routes(void)
{
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &dataplane_hub, fake_send, fake_room);
	struct dp_port *ports = calloc(1000, sizeof(*ports));
	struct addr a, b;
	char text[64];
	int ok = 1;

	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "10.1.%d.%d", i / 256, i % 256);
		addr_parse(text, &a);
		ok &= dataplane_route_add(dp, &ports[i], &a) == 0;
	}
	CHECK(ok, "1000 routes added");
	CHECK_EQ_INT(dataplane_routes(dp), 1000, "1000 routes");
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "10.1.%d.%d", i / 256, i % 256);
		addr_parse(text, &a);
		ok &= dataplane_route_find(dp, &a) == &ports[i];
	}
	CHECK(ok, "each found at its port after the table grew");
	addr_parse("10.1.0.5", &a);
	dataplane_route_add(dp, &ports[0], &a);
	CHECK(dataplane_route_find(dp, &a) == &ports[0] && !ports[5].routed,
	    "an address granted to another port is taken over");
	addr_parse("10.1.0.0", &b);
	CHECK(dataplane_route_find(dp, &b) == NULL, "a port has one address: the old one is gone");
	CHECK_EQ_INT(dataplane_routes(dp), 999, "999 routes");
	dataplane_route_del(dp, &ports[0]);
	dataplane_route_del(dp, &ports[0]);
	CHECK(dataplane_route_find(dp, &a) == NULL && dataplane_routes(dp) == 998,
	    "deleted (twice is harmless)");
	addr_parse("10.1.0.1", &a);
	addr_parse("::a01:1", &b); /* same bytes at the front, other family */
	CHECK(dataplane_route_find(dp, &b) == NULL && dataplane_route_find(dp, &a) == &ports[1],
	    "the family is part of the key");
	free(ports);
	dataplane_free(dp);
}

static void
test_uplink(void)
{
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &dataplane_hub, fake_send, fake_room);
	struct fake fa = {.max = 1200}, fb = {.max = 1200};
	struct dp_port pa = {.conn = &fa}, pb = {.conn = &fb}, pc = {.conn = &fa};
	struct dp_stats s;
	struct addr a;
	uint8_t p[2000];
	size_t n;

	addr_parse("10.0.0.1", &a);
	dataplane_route_add(dp, &pa, &a);
	addr_parse("10.0.0.2", &a);
	dataplane_route_add(dp, &pb, &a);

	n = v4(p, "10.0.0.1", "10.0.0.2", 100);
	dataplane_uplink(dp, &pa, p, n);
	CHECK(fb.sent == 1 && fb.last_len == 100, "A -> B forwarded to B's tunnel");
	CHECK(pa.c.rx_packets == 1 && pa.c.rx_bytes == 100 && pb.c.tx_packets == 1 &&
		pb.c.tx_bytes == 100,
	    "counted rx at A, tx at B");
	n = v4(p, "10.0.0.9", "10.0.0.2", 100);
	dataplane_uplink(dp, &pa, p, n);
	n = v4(p, "10.0.0.1", "10.0.0.77", 100);
	dataplane_uplink(dp, &pa, p, n);
	dataplane_uplink(dp, &pa, p, n - 1);
	n = v4(p, "10.0.0.1", "10.0.0.2", 1300);
	dataplane_uplink(dp, &pa, p, n);
	fb.blocked = 1;
	n = v4(p, "10.0.0.1", "10.0.0.2", 100);
	dataplane_uplink(dp, &pa, p, n);
	dataplane_uplink(dp, &pc, p, n);
	dataplane_stats(dp, &s);
	CHECK_EQ_INT(s.spoofed, 1, "a foreign source is spoofed");
	CHECK_EQ_INT(s.no_route, 1, "an unowned destination has no route");
	CHECK_EQ_INT(s.malformed, 1, "inconsistent lengths are malformed");
	CHECK_EQ_INT(s.too_big, 1, "over the destination's size: too big");
	CHECK_EQ_INT(s.blocked, 1, "the destination could not take it: blocked");
	CHECK_EQ_INT(s.unassigned, 1, "from a port without an address");
	CHECK_EQ_INT(pa.c.dropped_packets, 5, "each drop counted at the sender");
	CHECK_EQ_INT(pa.c.rx_packets, 6, "every datagram counted as received");
	CHECK_EQ_INT(fb.sent, 1, "nothing else reached B");
	CHECK(fa.sent == 1 && fa.last[9] == 1 && fa.last[20] == 3 && fa.last[21] == 4 &&
		(fa.last[26] << 8 | fa.last[27]) == 1200 && pa.c.tx_packets == 1,
	    "too big: A hears ICMP fragmentation needed with B's room, 1200");
	CHECK(pa.c.drops[COUNTERS_DROP_SPOOFED] == 1 && pa.c.drops[COUNTERS_DROP_NO_ROUTE] == 1 &&
		pa.c.drops[COUNTERS_DROP_MALFORMED] == 1 &&
		pa.c.drops[COUNTERS_DROP_TOO_BIG] == 1 && pa.c.drops[COUNTERS_DROP_BLOCKED] == 1 &&
		pc.c.drops[COUNTERS_DROP_UNASSIGNED] == 1,
	    "the port counts its drops by reason");
	dataplane_free(dp);
}

static void
test_downlink(void)
{
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &dataplane_hub, fake_send, fake_room);
	struct fake fa = {.max = 1200};
	struct dp_port pa = {.conn = &fa};
	struct dp_stats s;
	struct addr a;
	uint8_t p[1500];
	size_t n;

	addr_parse("2001:db8::1", &a);
	dataplane_route_add(dp, &pa, &a);
	n = v6(p, "2001:db8:ffff::9", "2001:db8::1", 60);
	dataplane_downlink(dp, p, n);
	CHECK(fa.sent == 1 && fa.last_len == n && pa.c.tx_packets == 1 && pa.c.tx_bytes == n,
	    "a packet from outside reaches the tunnel owning its destination, counted");
	n = v6(p, "2001:db8:ffff::9", "2001:db8::2", 60);
	dataplane_downlink(dp, p, n);
	dataplane_downlink(dp, p, n - 1);
	n = v6(p, "2001:db8:ffff::9", "2001:db8::1", 1300);
	dataplane_downlink(dp, p, n);
	dataplane_stats(dp, &s);
	CHECK(s.no_route == 1 && s.malformed == 1 && s.too_big == 1 && fa.sent == 1,
	    "downlink drops: no route, malformed, too big");
	CHECK(pa.c.dropped_packets == 1 && pa.c.drops[COUNTERS_DROP_TOO_BIG] == 1,
	    "a packet for the tunnel too big for it is the tunnel's drop");
	CHECK(s.unowned.dropped_packets == 2 && s.unowned.drops[COUNTERS_DROP_NO_ROUTE] == 1 &&
		s.unowned.drops[COUNTERS_DROP_MALFORMED] == 1,
	    "drops of packets for no tunnel are counted as no one's");
	CHECK(fa.last[7] == TTL - 1, "the hop limit was taken one off");
	dataplane_free(dp);
}

static void
test_sink(void)
{
	/* a sink of another kind (what a TUN device is): it takes what the mode passed */
	struct fake_sink sn = {0};
	struct dp_sink sink = {.name = "record", .output = fake_sink_output, .arg = &sn};
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &sink, fake_send, fake_room);
	struct fake fa = {.max = 1200}, fb = {.max = 1200};
	struct dp_port pa = {.conn = &fa}, pb = {.conn = &fb};
	struct dp_stats s;
	struct addr a, want;
	uint8_t p[1500];
	size_t n;

	addr_parse("10.0.0.1", &a);
	dataplane_route_add(dp, &pa, &a);
	addr_parse("10.0.0.2", &a);
	dataplane_route_add(dp, &pb, &a);
	n = v4(p, "10.0.0.1", "10.0.0.2", 100);
	dataplane_uplink(dp, &pa, p, n);
	addr_parse("10.0.0.2", &want);
	CHECK(sn.n == 1 && sn.dst.host.family == 4 && memcmp(sn.dst.host.b, want.b, 4) == 0 &&
		fb.sent == 0,
	    "the sink gets the checked packet with its destination (no hub in between)");
	n = v4(p, "10.0.0.7", "10.0.0.2", 100);
	dataplane_uplink(dp, &pa, p, n);
	CHECK_EQ_INT(sn.n, 1, "a spoofed packet never reaches the sink");
	sn.verdict = DP_DROP_NO_ROUTE;
	n = v4(p, "10.0.0.1", "192.0.2.1", 100);
	dataplane_uplink(dp, &pa, p, n);
	dataplane_stats(dp, &s);
	CHECK(sn.n == 2 && s.no_route == 1 && s.spoofed == 1 && pa.c.dropped_packets == 2,
	    "the sink's drop is counted by the data plane");
	dataplane_free(dp);
}

/* A sink side that records the answers it gets (what the TUN device would). */
struct answers {
	int n;
	size_t len;
	uint8_t last[DP_ANSWER_MAX];
};

static int
record_answer(void *arg, const uint8_t *pkt, size_t len)
{
	struct answers *an = arg;

	an->n++;
	an->len = len;
	memcpy(an->last, pkt, len);
	return 0;
}

static int
hub_like_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt,
    size_t len, const struct dp_dest *dst)
{
	(void)arg;
	return dataplane_hub.output(NULL, dp, from, pkt, len, dst);
}

static int
addr_at(const uint8_t *p, const char *text)
{
	struct addr a;

	addr_parse(text, &a);
	return memcmp(p, a.b, a.family == 4 ? 4 : 16) == 0;
}

static void
test_router(void)
{
	struct answers an = {0};
	struct dp_sink sink = {
	    .name = "answers", .output = hub_like_output, .answer = record_answer, .arg = &an};
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &sink, fake_send, fake_room);
	struct fake fa = {.max = 1200}, fb = {.max = 1200};
	struct dp_port pa = {.conn = &fa}, pb = {.conn = &fb};
	struct dp_pool pools[2] = {{.isolate_clients = 0}};
	struct dp_stats s;
	struct addr a;
	uint8_t p[1500];
	size_t n;
	int i;

	prefix_parse("10.0.0.0/24", &pools[0].prefix, NULL, 0, &(const char *){NULL});
	addr_parse("10.0.0.254", &pools[0].gateway);
	prefix_parse("2001:db8::/64", &pools[1].prefix, NULL, 0, &(const char *){NULL});
	CHECK_EQ_INT(dataplane_pools_set(dp, pools, 2), 0, "pools set");
	addr_parse("10.0.0.1", &a);
	dataplane_route_add(dp, &pa, &a);
	addr_parse("2001:db8::2", &a);
	dataplane_route_add(dp, &pb, &a);

	/* forwarded: one off the TTL, the IPv4 checksum follows (RFC 1624) */
	addr_parse("10.0.0.3", &a);
	{
		struct fake fc = {.max = 1200};
		struct dp_port pc = {.conn = &fc};

		dataplane_route_add(dp, &pc, &a);
		n = v4(p, "10.0.0.1", "10.0.0.3", 100);
		p[10] = 0x12;
		p[11] = 0x34;
		dataplane_uplink(dp, &pa, p, n);
		CHECK(fc.sent == 1 && fc.last[8] == TTL - 1 &&
			(fc.last[10] << 8 | fc.last[11]) == 0x1234 + 0x100,
		    "uplink A -> C: TTL 63, checksum one up in the TTL's byte");
		CHECK(p[8] == TTL, "the tunnel's datagram itself is not written");
		dataplane_route_del(dp, &pc);
	}

	/* TTL 1 uplink: time exceeded back to the sender from the pool's gateway */
	n = v4(p, "10.0.0.1", "192.0.2.9", 100);
	p[8] = 1;
	dataplane_uplink(dp, &pa, p, n);
	CHECK(fa.sent == 1 && fa.last[9] == 1 && fa.last[20] == 11 && fa.last[21] == 0 &&
		addr_at(fa.last + 12, "10.0.0.254") && addr_at(fa.last + 16, "10.0.0.1"),
	    "TTL 1: ICMP time exceeded to A from the gateway 10.0.0.254");
	CHECK(pa.c.drops[COUNTERS_DROP_TTL_EXCEEDED] == 1 && an.n == 0,
	    "counted ttl_exceeded at A; nothing to the sink side");
	/* IPv6 without a gateway: the answer comes from the original destination */
	n = v6(p, "2001:db8::2", "2001:db8:1::5", 100);
	p[7] = 1;
	dataplane_uplink(dp, &pb, p, n);
	CHECK(fb.sent == 1 && fb.last[6] == 58 && fb.last[40] == 3 &&
		addr_at(fb.last + 8, "2001:db8:1::5") && addr_at(fb.last + 24, "2001:db8::2"),
	    "hop limit 1: ICMPv6 time exceeded to B from the packet's destination");

	/* downlink: TTL 1 and too big answered into the sink side, from the tunnel's address */
	n = v4(p, "198.51.100.7", "10.0.0.1", 100);
	p[8] = 1;
	dataplane_downlink(dp, p, n);
	CHECK(an.n == 1 && an.last[20] == 11 && addr_at(an.last + 12, "10.0.0.1") &&
		addr_at(an.last + 16, "198.51.100.7") && fa.sent == 1,
	    "downlink TTL 1: time exceeded to the sink side from the tunnel's address");
	n = v6(p, "2001:db8:9::1", "2001:db8::2", 1300);
	dataplane_downlink(dp, p, n);
	CHECK(an.n == 2 && an.last[6] == 58 && an.last[40] == 2 &&
		(an.last[44] << 24 | an.last[45] << 16 | an.last[46] << 8 | an.last[47]) == 1200 &&
		addr_at(an.last + 8, "2001:db8::2"),
	    "downlink too big: ICMPv6 packet too big, MTU 1200, to the sink side");
	CHECK(pb.c.drops[COUNTERS_DROP_TOO_BIG] == 1, "counted too_big at B");
	/* no DF: no "fragmentation needed", still counted */
	n = v4(p, "198.51.100.7", "10.0.0.1", 1300);
	p[6] = 0;
	dataplane_downlink(dp, p, n);
	dataplane_stats(dp, &s);
	CHECK(an.n == 2 && s.too_big == 2, "IPv4 without DF: no answer, counted too_big");

	/* an ICMP error is never answered */
	n = v4(p, "10.0.0.1", "192.0.2.9", 100);
	p[8] = 1;
	p[9] = 1;
	p[20] = 3;
	dataplane_uplink(dp, &pa, p, n);
	CHECK_EQ_INT(fa.sent, 1, "no error about an ICMP error");

	/* rate limit: a burst of DP_ANSWER_BURST, then nothing until tokens come back */
	dataplane_stats(dp, &s);
	for (i = 0; i < 50; i++) {
		n = v4(p, "10.0.0.1", "192.0.2.9", 100);
		p[8] = 1;
		dataplane_uplink(dp, &pa, p, n);
	}
	{
		struct dp_stats s2;

		dataplane_stats(dp, &s2);
		CHECK(fa.sent <= 1 + DP_ANSWER_BURST && fa.sent >= DP_ANSWER_BURST - 1 &&
			s2.answers_limited - s.answers_limited >= 50 - DP_ANSWER_BURST - 1,
		    "50 time-exceeded answers into one tunnel: at most the burst (%d) sent",
		    fa.sent);
		CHECK_EQ_INT(pa.c.drops[COUNTERS_DROP_TTL_EXCEEDED], 53,
		    "every one counted (and the downlink one for A)");
	}
	dataplane_free(dp);
}

static void
test_isolation(void)
{
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &dataplane_hub, fake_send, fake_room);
	struct fake fa = {.max = 1200}, fb = {.max = 1200};
	struct dp_port pa = {.conn = &fa}, pb = {.conn = &fb};
	struct dp_pool pool = {.isolate_clients = 1};
	struct dp_stats s;
	struct addr a;
	uint8_t p[1500];
	size_t n;

	prefix_parse("10.0.0.0/24", &pool.prefix, NULL, 0, &(const char *){NULL});
	addr_parse("10.0.0.1", &a);
	dataplane_route_add(dp, &pa, &a);
	addr_parse("10.0.0.2", &a);
	dataplane_route_add(dp, &pb, &a);
	n = v4(p, "10.0.0.1", "10.0.0.2", 100);
	dataplane_uplink(dp, &pa, p, n);
	CHECK_EQ_INT(fb.sent, 1, "client to client without isolation");
	dataplane_pools_set(dp, &pool, 1);
	dataplane_uplink(dp, &pa, p, n);
	dataplane_stats(dp, &s);
	CHECK(fb.sent == 1 && s.isolated == 1 && pa.c.drops[COUNTERS_DROP_ISOLATED] == 1,
	    "isolate_clients, the hub: dropped as isolated");
	dataplane_free(dp);
}

/* The tun sink over a datagram socket pair: sv[0] is the agent's end of the "device". */
static void
test_tun(void)
{
	int sv[2];
	struct dp_tun *t;
	struct dp_sink sink;
	struct dataplane *dp;
	struct fake fa = {.max = 1200}, fb = {.max = 1200};
	struct dp_port pa = {.conn = &fa}, pb = {.conn = &fb};
	struct dp_pool pool = {.isolate_clients = 0};
	struct addr a;
	uint8_t p[1500], got[1500];
	ssize_t r;
	size_t n;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) < 0) {
		CHECK(0, "socketpair");
		return;
	}
	t = dp_tun_new(sv[0], 1500, 0);
	dp_tun_sink(t, &sink);
	dp = dataplane_new(&dp_ip_mode, &sink, fake_send, fake_room);
	prefix_parse("10.0.0.0/24", &pool.prefix, NULL, 0, &(const char *){NULL});
	addr_parse("10.0.0.254", &pool.gateway);
	dataplane_pools_set(dp, &pool, 1);
	addr_parse("10.0.0.1", &a);
	dataplane_route_add(dp, &pa, &a);
	addr_parse("10.0.0.2", &a);
	dataplane_route_add(dp, &pb, &a);

	n = v4(p, "10.0.0.1", "192.0.2.9", 100);
	dataplane_uplink(dp, &pa, p, n);
	r = read(sv[1], got, sizeof(got));
	CHECK(r == 100 && got[8] == TTL - 1 && addr_at(got + 16, "192.0.2.9"),
	    "uplink for the network: written to the device, TTL taken one off");
	n = v4(p, "10.0.0.1", "10.0.0.2", 100);
	dataplane_uplink(dp, &pa, p, n);
	CHECK(fb.sent == 1 && read(sv[1], got, sizeof(got)) < 0,
	    "uplink for another tunnel: into it, not to the device");
	pool.isolate_clients = 1;
	dataplane_pools_set(dp, &pool, 1);
	dataplane_uplink(dp, &pa, p, n);
	r = read(sv[1], got, sizeof(got));
	CHECK(fb.sent == 1 && r == 100 && addr_at(got + 16, "10.0.0.2"),
	    "isolate_clients: client to client goes to the device instead");

	/* the host routes it back: still no client to client; the gateway's own address passes */
	n = v4(p, "10.0.0.1", "10.0.0.2", 100);
	dataplane_downlink(dp, p, n);
	n = v4(p, "10.0.0.254", "10.0.0.2", 100);
	dataplane_downlink(dp, p, n);
	{
		struct dp_stats s;

		dataplane_stats(dp, &s);
		CHECK(fb.sent == 2 && s.isolated == 1 && pb.c.drops[COUNTERS_DROP_ISOLATED] == 1,
		    "isolate_clients: a client's packet routed back by the host is dropped, the "
		    "gateway's passes");
	}
	pool.isolate_clients = 0;
	dataplane_pools_set(dp, &pool, 1);

	/* downlink: what the device has goes to the tunnels in one read batch */
	for (int i = 0; i < 3; i++) {
		n = v4(p, "192.0.2.9", i == 2 ? "10.0.0.99" : "10.0.0.1", 200);
		CHECK_EQ_INT(write(sv[1], p, n), 200, "queued on the device");
	}
	n = v4(p, "192.0.2.9", "10.0.0.1", 1300);
	CHECK_EQ_INT(write(sv[1], p, n), 1300, "queued an oversize one");
	CHECK_EQ_INT(dp_tun_read(t, dp), 4, "4 packets read");
	CHECK(fa.sent == 2 && fa.last_len == 200 && fa.last[8] == TTL - 1,
	    "two reached A, hop taken");
	r = read(sv[1], got, sizeof(got));
	CHECK(r > 28 && got[9] == 1 && got[20] == 3 && got[21] == 4 &&
		(got[26] << 8 | got[27]) == 1200 && addr_at(got + 12, "10.0.0.1") &&
		addr_at(got + 16, "192.0.2.9"),
	    "the oversize one: fragmentation needed (MTU 1200) written back to the device");
	CHECK_EQ_INT(dp_tun_read(t, dp), 0, "nothing more");
	{
		struct dp_stats s;

		dataplane_stats(dp, &s);
		CHECK(s.no_route == 1 && s.too_big == 1, "no route and too big counted");
	}
	dataplane_free(dp);
	dp_tun_free(t);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	test_parse();
	test_routes();
	test_uplink();
	test_downlink();
	test_sink();
	test_router();
	test_isolation();
	test_tun();
	return check_done();
}
