/* The data plane (agent/dataplane.h) in ip mode (agent/dpmode.h, agent/ippkt.h): header parsing
 * with every bound, the route table (add, find, take-over, delete, growth), the uplink verdicts
 * through the hub sink with their counters (forwarded, spoofed, no route, malformed, too big,
 * blocked, unassigned), the downlink, and a sink of another kind (agent/dpsink.h) taking what
 * the mode passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/dataplane.h"
#include "../../agent/dpmode.h"
#include "../../agent/dpsink.h"
#include "../../agent/ippkt.h"
#include "check.h"

/* A fake tunnel: what the data plane sent it. */
struct fake {
	int sent;
	size_t last_len, max;
	int blocked;
};

static int
fake_send(void *conn, const void *pkt, size_t len)
{
	struct fake *f = conn;

	(void)pkt;
	if (len > f->max)
		return DP_DROP_TOO_BIG;
	if (f->blocked)
		return DP_DROP_BLOCKED;
	f->sent++;
	f->last_len = len;
	return 0;
}

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
	p[6] = 58;
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
	CHECK(ip.family == 6 && ip.proto == 58 && memcmp(ip.dst.b, want.b, 16) == 0, "IPv6 fields");
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
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &dataplane_hub, fake_send);
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
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &dataplane_hub, fake_send);
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
	dataplane_free(dp);
}

static void
test_downlink(void)
{
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &dataplane_hub, fake_send);
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
	CHECK_EQ_INT(pa.c.dropped_packets, 0, "downlink drops are not the tunnel's");
	dataplane_free(dp);
}

/* A sink of another kind (what a TUN device is): it takes what the mode passed. */
struct seen {
	int n;
	struct addr dst;
	int verdict;
};

static int
record_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len,
    const struct addr *dst)
{
	struct seen *sn = arg;

	(void)dp;
	(void)from;
	(void)pkt;
	(void)len;
	sn->n++;
	sn->dst = *dst;
	return sn->verdict;
}

static void
test_sink(void)
{
	struct seen sn = {0};
	struct dp_sink sink = {.name = "record", .output = record_output, .arg = &sn};
	struct dataplane *dp = dataplane_new(&dp_ip_mode, &sink, fake_send);
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
	CHECK(sn.n == 1 && sn.dst.family == 4 && memcmp(sn.dst.b, want.b, 4) == 0 && fb.sent == 0,
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

int
main(void)
{
	test_parse();
	test_routes();
	test_uplink();
	test_downlink();
	test_sink();
	return check_done();
}
