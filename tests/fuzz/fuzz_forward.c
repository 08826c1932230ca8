/* Fuzzes the agent's data plane (agent/dataplane.h) in ip mode with the hub sink, beyond the
 * header parser: four tunnel ports, eight addresses (two of each family per port, so routes are
 * taken over), and a script of operations read from the input:
 *
 *   op byte: bits 0-1 the operation (0 uplink from port, 1 downlink, 2 route add, 3 route del),
 *            bits 2-3 the port, bits 4-6 the address (route add; uplink/downlink with bit 7:
 *            the packet's destination, its length field and, uplink, its source (the port's
 *            address) are set to make it well formed, so that the script reaches routing and
 *            not only the parser)
 *   uplink/downlink: then a length byte n and n packet bytes (a heap copy of exactly n bytes);
 *   the send function's verdict cycles with the byte after the packet (0 sent, too big, blocked).
 *
 * The sink is the hub's output with an answer function (what a TUN device has), and the pools
 * give the IPv4 addresses a gateway and the IPv6 ones isolate_clients, so that the router's
 * duties run: the fuzzer's TTL / hop-limit bytes reach 1 and 0 (ICMP time exceeded), the too-big
 * verdict asks for ICMP too big, both ways.
 *
 * Invariants: never a crash; every packet is forwarded into exactly one tunnel or counted as
 * exactly one drop, and brings at most one answer; a packet sent goes to the port routed under
 * its destination, which owns that address; an uplink that was forwarded had the sending port's
 * address as its source; every answer is a well-formed ICMP / ICMPv6 packet to the offending
 * packet's source; the route table never holds more routes than ports, and each routed port is
 * found under its address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/dataplane.h"
#include "../../agent/dpmode.h"
#include "../../agent/dpsink.h"
#include "../../agent/ippkt.h"

#define PORTS 4
#define OPS_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_port ports[PORTS];
static struct addr addrs[8];
static int verdict, sent, sink_answers;
static const struct dp_port *sent_to;
static struct addr answer_to; /* the offending packet's source, when it parsed */

/* An answer is an ICMP (1) or ICMPv6 (58) packet to the offending packet's source. */
static void
check_answer(const uint8_t *pkt, size_t len)
{
	struct ippkt ip;

	if (len > DP_ANSWER_MAX || ippkt_parse(pkt, len, &ip) < 0 ||
	    ip.proto != (ip.family == 4 ? 1 : 58) || !dataplane_addr_eq(&ip.dst, &answer_to))
		__builtin_trap();
}

static int
fuzz_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len,
    const struct dp_dest *dst)
{
	(void)arg;
	return dataplane_hub.output(NULL, dp, from, pkt, len, dst);
}

static int
fuzz_answer(void *arg, const uint8_t *pkt, size_t len)
{
	(void)arg;
	check_answer(pkt, len);
	sink_answers++;
	return 0;
}

static size_t
fuzz_room(void *conn)
{
	(void)conn;
	return 1200;
}

static int
fuzz_send(void *conn, const void *pkt, size_t len)
{
	struct dp_port *p = conn;
	struct ippkt ip;

	/* only packets that parsed are ever sent, to the port owning their destination */
	if (ippkt_parse(pkt, len, &ip) < 0 || !dataplane_port_owns(p, &ip.dst))
		__builtin_trap();
	if (verdict != 0)
		return verdict;
	if (ip.proto == (ip.family == 4 ? 1 : 58) && dataplane_addr_eq(&ip.dst, &answer_to))
		check_answer(pkt, len);
	sent++;
	sent_to = p;
	return 0;
}

static void
init(void)
{
	for (int i = 0; i < 8; i++) {
		addrs[i].family = i % 2 ? 6 : 4;
		if (i % 2) {
			addrs[i].b[0] = 0x20;
			addrs[i].b[1] = 0x01;
			addrs[i].b[2] = 0x0d;
			addrs[i].b[3] = 0xb8;
			addrs[i].b[15] = (uint8_t)(1 + i / 2);
		} else {
			addrs[i].b[0] = 10;
			addrs[i].b[3] = (uint8_t)(1 + i / 2);
		}
	}
}

/* Make pkt (len bytes) a well-formed packet to dst, from src when src has dst's family, when it
 * is long enough. */
static void
shape(uint8_t *pkt, size_t len, const struct addr *src, const struct addr *dst)
{
	int from = src != NULL && src->family == dst->family;

	if (dst->family == 4 && len >= IPPKT_V4_HDR) {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(len >> 8);
		pkt[3] = (uint8_t)len;
		if (from)
			memcpy(pkt + 12, src->b, 4);
		memcpy(pkt + 16, dst->b, 4);
	} else if (dst->family == 6 && len >= IPPKT_V6_HDR) {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)((len - 40) >> 8);
		pkt[5] = (uint8_t)(len - 40);
		if (from)
			memcpy(pkt + 8, src->b, 16);
		memcpy(pkt + 24, dst->b, 16);
	}
}

static uint64_t
drops(const struct dataplane *dp)
{
	struct dp_stats s;

	dataplane_stats(dp, &s);
	return s.malformed + s.spoofed + s.no_route + s.too_big + s.blocked + s.unassigned +
	    s.ttl_exceeded + s.isolated;
}

static uint64_t
answers(const struct dataplane *dp)
{
	struct dp_stats s;

	dataplane_stats(dp, &s);
	return s.answers;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dp_sink sink = {
	    .name = "fuzz", .output = fuzz_output, .answer = fuzz_answer};
	struct dp_pool pools[2];
	struct dataplane *dp;
	uint64_t packets = 0, answered = 0;
	size_t off = 0;
	int ops = 0;

	if (addrs[0].family == 0)
		init();
	if ((dp = dataplane_new(&dp_ip_mode, &sink, fuzz_send, fuzz_room)) == NULL)
		abort();
	memset(pools, 0, sizeof(pools));
	pools[0].prefix.net = addrs[0];
	pools[0].prefix.len = 24;
	pools[0].prefix.net.b[3] = 0;
	pools[0].gateway = addrs[0];
	pools[0].gateway.b[3] = 254;
	pools[1].prefix.net = addrs[1];
	pools[1].prefix.net.b[15] = 0;
	pools[1].prefix.len = 64;
	pools[1].isolate_clients = 1;
	if (dataplane_pools_set(dp, pools, 2) < 0)
		abort();
	memset(ports, 0, sizeof(ports));
	for (int i = 0; i < PORTS; i++)
		ports[i].conn = &ports[i];
	sent = sink_answers = 0;
	while (off < size && ops++ < OPS_MAX) {
		unsigned op = data[off++];
		struct dp_port *p = &ports[(op >> 2) % PORTS];
		const struct addr *a = &addrs[(op >> 4) % 8];

		switch (op % 4) {
		case 0:
		case 1: {
			size_t n = off < size ? data[off++] : 0;
			uint8_t *pkt;
			int before = sent + sink_answers;
			uint64_t dropped = drops(dp), answers_before = answers(dp);
			struct ippkt ip;

			if (n > size - off)
				n = size - off;
			if ((pkt = malloc(n ? n : 1)) == NULL)
				abort();
			memcpy(pkt, data + off, n);
			off += n;
			verdict = off < size ? (int)(data[off] % 3) : 0;
			verdict = verdict == 0 ? 0
			    : verdict == 1     ? DP_DROP_TOO_BIG
					       : DP_DROP_BLOCKED;
			if (op & 0x80)
				shape(pkt, n, op % 4 == 0 && p->routed ? &p->addr : NULL, a);
			sent_to = NULL;
			memset(&answer_to, 0, sizeof(answer_to));
			if (ippkt_parse(pkt, n, &ip) == 0)
				answer_to = ip.src;
			if (op % 4 == 0)
				dataplane_uplink(dp, p, pkt, n);
			else
				dataplane_downlink(dp, pkt, n);
			packets++;
			answered = answers(dp) - answers_before;
			if (answered > 1 ||
			    (uint64_t)(sent + sink_answers - before) - answered +
				    (drops(dp) - dropped) !=
				1)
				__builtin_trap(); /* sent once or dropped once, never both or neither */
			if (op % 4 == 0 && sent_to != NULL) {
				if (ippkt_parse(pkt, n, &ip) < 0 ||
				    !dataplane_port_owns(p, &ip.src))
					__builtin_trap(); /* a spoofed packet went through */
			}
			free(pkt);
			break;
		}
		case 2: dataplane_route_add(dp, p, a); break;
		case 3: dataplane_route_del(dp, p); break;
		}
		if (dataplane_routes(dp) > PORTS)
			__builtin_trap();
		for (int i = 0; i < PORTS; i++)
			if (ports[i].routed &&
			    dataplane_route_find(dp, &ports[i].addr) != &ports[i])
				__builtin_trap();
	}
	if ((uint64_t)(sent + sink_answers) - answers(dp) + drops(dp) != packets)
		__builtin_trap();
	for (int i = 0; i < PORTS; i++)
		dataplane_route_del(dp, &ports[i]);
	dataplane_free(dp);
	return 0;
}
