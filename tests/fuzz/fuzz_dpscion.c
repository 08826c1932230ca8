/* Fuzzes the agent's data plane in scion mode (agent/dp_scion.c over lib/scion.h): two tunnel
 * ports, A (10.9.0.1) and B (10.9.0.2), of a pool of 1-ff00:0:110 with the gateway 10.9.0.254,
 * a sink that takes every packet the mode passes, and a script of operations read from the
 * input:
 *
 *   op byte: bit 0 uplink from A (0) or downlink (1); bit 1: the packet's address header is
 *            made A's source (uplink) or A's or B's destination (downlink, bit 2 B), so that the
 *            script reaches the path and length checks and the dispatch, not only the source
 *            check; bits 3-4 the send function's verdict (sent, too big, blocked);
 *   then two length bytes (big-endian, at most 2048) and that many packet bytes (a heap copy
 *   of exactly that length).
 *
 * Invariants: never a crash; every packet is passed to the sink, sent into one tunnel, or
 * counted as one drop, and brings at most one answer; an uplink packet the sink got comes from
 * A's (ISD-AS, address) exactly; a downlink packet went into the tunnel owning its destination
 * host; every answer is an SCMP Parameter Problem of at most 1232 bytes from the gateway to A
 * over the empty path, its checksum right (tests/unit/scionpkt.h's own routine), quoting the
 * start of the offending packet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/dataplane.h"
#include "../../agent/dpmode.h"
#include "../../agent/dpsink.h"
#include "../unit/scionpkt.h"

#define OPS_MAX 64
#define LEN_MAX 2048
#define IA 0x0001ff0000000110ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_port pa, pb;
static struct addr a_addr, b_addr, gateway;
static int verdict, passed, sent;
static const uint8_t *offending;
static size_t offending_len;

static int
fuzz_send(void *conn, const void *pkt, size_t len)
{
	const uint8_t *p = pkt;
	struct scionpkt_view v;

	if (verdict != 0)
		return verdict;
	sent++;
	if (offending != NULL) {
		/* an uplink packet's answer: into A, about that packet */
		size_t q;

		if (conn != &pa || len > 1232 || scionpkt_read(p, len, &v) < 0 ||
		    v.next_hdr != SCIONPKT_SCMP || v.scmp_type != 4 || !v.csum_ok ||
		    v.path_type != 0 || v.src_ia != IA || v.dst_ia != IA ||
		    !dataplane_addr_eq(&v.src, &gateway) || !dataplane_addr_eq(&v.dst, &a_addr))
			__builtin_trap();
		q = v.quote_len < offending_len ? v.quote_len : offending_len;
		if (q == 0 || memcmp(p + v.quote, offending, q) != 0)
			__builtin_trap();
		return 0;
	}
	/* a downlink packet: for an IPv4 destination host, the receiving port's */
	if (len < 32 || p[9] >> 4 != 0 || memcmp(p + 28, ((struct dp_port *)conn)->addr.b, 4) != 0)
		__builtin_trap();
	return 0;
}

static size_t
fuzz_room(void *conn)
{
	(void)conn;
	return 1400;
}

static int
fuzz_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len,
    const struct dp_dest *dst)
{
	(void)arg;
	(void)dp;
	(void)dst;
	/* passed: from A's (ISD-AS, address) exactly (IPv4 source host after an IPv4 or IPv6
	 * destination) */
	if (from != &pa || len < 36 || scionpkt_get64(pkt + 20) != IA || (pkt[9] & 0x0f) != 0 ||
	    memcmp(pkt + 28 + ((pkt[9] >> 4 & 3) == 3 ? 16 : 4), a_addr.b, 4) != 0)
		__builtin_trap();
	passed++;
	return 0;
}

static uint64_t
drops(const struct dataplane *dp)
{
	struct dp_stats s;

	dataplane_stats(dp, &s);
	return s.malformed + s.spoofed + s.no_route + s.too_big + s.blocked + s.unassigned +
	    s.ttl_exceeded + s.isolated + s.no_tunnel;
}

static uint64_t
answers(const struct dataplane *dp)
{
	struct dp_stats s;

	dataplane_stats(dp, &s);
	return s.answers;
}

/* Make pkt's address header (if it is long enough) IPv4 hosts of IA: the source A (uplink) or
 * the destination dst (downlink). */
static void
shape(uint8_t *pkt, size_t len, int uplink, const struct addr *dst)
{
	if (len < 36)
		return;
	pkt[9] = 0; /* IPv4 hosts */
	for (int i = 0; i < 8; i++)
		pkt[(uplink ? 20 : 12) + i] = (uint8_t)(IA >> (56 - 8 * i));
	if (uplink)
		memcpy(pkt + 32, a_addr.b, 4);
	else
		memcpy(pkt + 28, dst->b, 4);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dp_sink sink = {.name = "fuzz", .output = fuzz_output};
	struct dp_pool pool;
	struct dataplane *dp;
	uint64_t packets = 0;
	size_t off = 0;
	int ops = 0;

	addr_parse("10.9.0.1", &a_addr);
	addr_parse("10.9.0.2", &b_addr);
	addr_parse("10.9.0.254", &gateway);
	if ((dp = dataplane_new(&dp_scion_mode, &sink, fuzz_send, fuzz_room)) == NULL)
		abort();
	memset(&pool, 0, sizeof(pool));
	pool.prefix.net = a_addr;
	pool.prefix.net.b[3] = 0;
	pool.prefix.len = 24;
	pool.isd_as = IA;
	pool.gateway = gateway;
	if (dataplane_pools_set(dp, &pool, 1) < 0)
		abort();
	memset(&pa, 0, sizeof(pa));
	memset(&pb, 0, sizeof(pb));
	pa.conn = &pa;
	pb.conn = &pb;
	dataplane_route_add(dp, &pa, &a_addr);
	dataplane_route_add(dp, &pb, &b_addr);
	passed = sent = 0;
	while (off + 3 <= size && ops++ < OPS_MAX) {
		unsigned op = data[off];
		size_t n = (size_t)data[off + 1] << 8 | data[off + 2];
		int uplink = !(op & 1), before = passed + sent;
		uint64_t dropped = drops(dp), answered = answers(dp);
		uint8_t *pkt;

		off += 3;
		if (n > LEN_MAX)
			n = LEN_MAX;
		if (n > size - off)
			n = size - off;
		if ((pkt = malloc(n ? n : 1)) == NULL)
			abort();
		memcpy(pkt, data + off, n);
		off += n;
		verdict = (op >> 3) % 3 == 0 ? 0
		    : (op >> 3) % 3 == 1     ? DP_DROP_TOO_BIG
					     : DP_DROP_BLOCKED;
		if (op & 2)
			shape(pkt, n, uplink, op & 4 ? &b_addr : &a_addr);
		offending = uplink ? pkt : NULL;
		offending_len = n;
		if (uplink)
			dataplane_uplink(dp, &pa, pkt, n);
		else
			dataplane_downlink(dp, pkt, n);
		offending = NULL;
		packets++;
		answered = answers(dp) - answered;
		if (answered > 1 ||
		    (uint64_t)(passed + sent - before) - answered + (drops(dp) - dropped) != 1)
			__builtin_trap(); /* passed, sent or dropped: once */
		free(pkt);
	}
	if ((uint64_t)(passed + sent) - answers(dp) + drops(dp) != packets)
		__builtin_trap();
	dataplane_route_del(dp, &pa);
	dataplane_route_del(dp, &pb);
	dataplane_free(dp);
	return 0;
}
