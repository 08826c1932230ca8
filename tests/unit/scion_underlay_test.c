/* The scion sink (agent/scion_underlay.h) on real UDP sockets on loopback, with scion mode's data
 * plane and fake tunnels: an uplink packet arrives byte-identical at the border router owning
 * its egress interface (a topology of two routers; one --scion-router for every interface);
 * an interface no router has is no_route; a packet for the local ISD-AS goes to its host (at
 * the end-host port, or at its UDP port when that is in the dispatched range), or into the
 * tunnel of this agent that owns the host; a datagram received on the end-host port reaches
 * its tunnel; the options' errors name the option. */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/dataplane.h"
#include "../../agent/dpmode.h"
#include "../../agent/scion_underlay.h"
#include "check.h"
#include "dpfake.h"
#include "scionpkt.h"

#define IA_LOCAL "1-ff00:0:110"
#define IA_REMOTE "2-ff00:0:222"

/* A UDP socket bound to host:port (0: any); its port in *port. -1 on failure. */
static int
udp_bound(const char *host, uint16_t port, uint16_t *bound)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, host, &in.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&in, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (bound != NULL)
		*bound = ntohs(in.sin_port);
	return fd;
}

/* The next datagram on fd within ms milliseconds: its length, or -1. */
static ssize_t
recv_within(int fd, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(fd, buf, cap, MSG_DONTWAIT);
}

/* An uplink packet from (IA_LOCAL, 10.9.0.1) to (dst_ia, dst) leaving by interface egress. */
static size_t
up(const char *dst_ia, const char *dst, uint16_t egress, uint16_t dport, uint8_t *pkt, size_t cap)
{
	static const uint8_t payload[200];
	struct scionpkt p;

	memset(&p, 0, sizeof(p));
	p.dst_ia = scionpkt_ia(dst_ia);
	p.src_ia = scionpkt_ia(IA_LOCAL);
	addr_parse(dst, &p.dst);
	addr_parse("10.9.0.1", &p.src);
	p.path_type = 1;
	p.seg[0] = 2;
	p.ingress[0] = egress;
	p.next_hdr = SCIONPKT_UDP;
	p.sport = 40000;
	p.dport = dport;
	p.payload = payload;
	p.payload_len = sizeof(payload);
	return scionpkt_build(&p, pkt, cap);
}

struct env {
	struct scion_underlay *u;
	struct dataplane *dp;
	struct fake fa, fb;
	struct dp_port pa, pb;
};

static int
env_open(struct env *e, const struct scion_underlay_config *cfg)
{
	struct dp_pool pool = {.isolate_clients = 0};
	struct dp_sink sink;
	struct addr a;
	char why[512] = "";

	memset(e, 0, sizeof(*e));
	if ((e->u = scion_underlay_open(cfg, why, sizeof(why))) == NULL) {
		CHECK(0, "the underlay opens: %s", why);
		return -1;
	}
	scion_underlay_sink(e->u, &sink);
	e->dp = dataplane_new(&dp_scion_mode, &sink, fake_send, fake_room);
	prefix_parse("10.9.0.0/24", &pool.prefix, NULL, 0, &(const char *){NULL});
	pool.isd_as = scionpkt_ia(IA_LOCAL);
	addr_parse("10.9.0.254", &pool.gateway);
	dataplane_pools_set(e->dp, &pool, 1);
	e->fa.max = e->fb.max = 1400;
	e->pa.conn = &e->fa;
	e->pb.conn = &e->fb;
	addr_parse("10.9.0.1", &a);
	dataplane_route_add(e->dp, &e->pa, &a);
	addr_parse("10.9.0.2", &a);
	dataplane_route_add(e->dp, &e->pb, &a);
	return 0;
}

static void
env_close(struct env *e)
{
	dataplane_free(e->dp);
	scion_underlay_close(e->u);
}

static void
test_topology(void)
{
	struct scion_underlay_config cfg = {.bind = "127.0.0.1"};
	uint8_t pkt[1500], got[2048];
	char path[512], name[64];
	uint16_t p1, p2, port;
	int r1 = udp_bound("127.0.0.1", 0, &p1), r2 = udp_bound("127.0.0.1", 0, &p2), host;
	struct dp_stats s;
	struct env e;
	struct scion_underlay_stats us;
	struct addr local;
	ssize_t m;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/topology.json", check_tmpdir());
	if (r1 < 0 || r2 < 0 || (f = fopen(path, "w")) == NULL) {
		CHECK(0, "two router sockets and a topology file");
		return;
	}
	fprintf(f,
	    "{\"isd_as\": \"%s\", \"border_routers\": {"
	    "\"br1\": {\"internal_addr\": \"127.0.0.1:%u\", \"interfaces\": {\"1\": {}}},"
	    "\"br2\": {\"internal_addr\": \"127.0.0.1:%u\", \"interfaces\": {\"2\": {}, \"3\": {}}}}}",
	    IA_LOCAL, p1, p2);
	fclose(f);
	cfg.topology = path;
	if (env_open(&e, &cfg) < 0)
		return;
	scion_underlay_name(e.u, name, sizeof(name));
	port = (uint16_t)atoi(strrchr(name, ':') + 1);
	CHECK(strncmp(name, "127.0.0.1:", 10) == 0 && port != 0 &&
		scion_underlay_isd_as(e.u) == scionpkt_ia(IA_LOCAL),
	    "bound to a free port on 127.0.0.1 (%s), the topology's ISD-AS", name);
	CHECK(scion_underlay_local(e.u, &local) == 0 && local.family == 4 && local.b[0] == 127 &&
		local.b[3] == 1,
	    "its own address: the bound one");

	n = up(IA_REMOTE, "192.0.2.7", 1, 443, pkt, sizeof(pkt));
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	scion_underlay_flush(e.u);
	m = recv_within(r1, got, sizeof(got), 2000);
	CHECK(m == (ssize_t)n && memcmp(got, pkt, n) == 0,
	    "egress interface 1: at br1, byte-identical (%zd of %zu bytes)", m, n);
	n = up(IA_REMOTE, "192.0.2.7", 3, 443, pkt, sizeof(pkt));
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	scion_underlay_flush(e.u);
	m = recv_within(r2, got, sizeof(got), 2000);
	CHECK(m == (ssize_t)n && memcmp(got, pkt, n) == 0 &&
		recv_within(r2, got, sizeof(got), 2000) == (ssize_t)n &&
		recv_within(r1, got, sizeof(got), 100) == -1,
	    "egress interface 3 (twice, one batch): both at br2, none at br1");
	n = up(IA_REMOTE, "192.0.2.7", 9, 443, pkt, sizeof(pkt));
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	scion_underlay_flush(e.u);
	dataplane_stats(e.dp, &s);
	CHECK(s.no_route == 1 && e.pa.c.drops[COUNTERS_DROP_NO_ROUTE] == 1 &&
		recv_within(r1, got, sizeof(got), 100) == -1 &&
		recv_within(r2, got, sizeof(got), 100) == -1,
	    "an interface no router has: no_route at A, nothing sent");

	/* the local ISD-AS: to the host at the end-host port (no dispatched range) */
	if ((host = udp_bound("127.0.0.2", port, NULL)) < 0) {
		CHECK(0, "a host socket on 127.0.0.2:%u", port);
	} else {
		n = up(IA_LOCAL, "127.0.0.2", 0, 31005, pkt, sizeof(pkt));
		dataplane_uplink(e.dp, &e.pa, pkt, n);
		scion_underlay_flush(e.u);
		m = recv_within(host, got, sizeof(got), 2000);
		CHECK(m == (ssize_t)n && memcmp(got, pkt, n) == 0,
		    "the local ISD-AS: straight to the host 127.0.0.2 at the end-host port %u",
		    port);
		close(host);
	}
	/* the local ISD-AS, a host a tunnel owns: into that tunnel */
	n = up(IA_LOCAL, "10.9.0.2", 0, 31005, pkt, sizeof(pkt));
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	CHECK(e.fb.sent == 1 && e.fb.last_len == n && memcmp(e.fb.last, pkt, n) == 0,
	    "the local ISD-AS, B's host: into B at once");

	/* downlink: a datagram to the end-host port, for A */
	{
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
		const int *fds;

		inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
		n = up(IA_LOCAL, "10.9.0.1", 0, 31005, pkt, sizeof(pkt));
		sendto(r1, pkt, n, 0, (struct sockaddr *)&to, sizeof(to));
		struct pollfd pf = {.events = POLLIN};

		scion_underlay_fds(e.u, &fds);
		pf.fd = fds[0];
		if (poll(&pf, 1, 2000) == 1)
			scion_underlay_read(e.u, fds[0], e.dp);
		CHECK(e.fa.sent == 1 && e.fa.last_len == n && memcmp(e.fa.last, pkt, n) == 0,
		    "a datagram from the underlay for (local ISD-AS, 10.9.0.1): into A");
	}
	scion_underlay_stats(e.u, &us);
	CHECK(us.tx_packets == 4 && us.local == 2 && us.hairpin == 1 && us.rx_packets == 1,
	    "counted: 4 datagrams out, 2 for the local ISD-AS (1 into a tunnel), 1 in");
	env_close(&e);
	close(r1);
	close(r2);
	remove(path);
}

static void
test_router(void)
{
	struct scion_underlay_config cfg = {.bind = "127.0.0.1"};
	uint8_t pkt[1500], got[2048];
	char router[64];
	uint16_t p1, lo;
	int r1 = udp_bound("127.0.0.1", 0, &p1), probe = udp_bound("127.0.0.1", 0, &lo), host;
	struct env e;
	ssize_t m;
	size_t n;

	/* a free port for a dispatched range of one, as far as one can tell */
	close(probe);
	snprintf(router, sizeof(router), "127.0.0.1:%u", p1);
	cfg.router = router;
	cfg.ports_lo = cfg.ports_hi = lo;
	if (r1 < 0 || env_open(&e, &cfg) < 0)
		return;
	CHECK(scion_underlay_isd_as(e.u) == 0, "--scion-router: no ISD-AS of its own");
	n = up(IA_REMOTE, "192.0.2.7", 4242, 443, pkt, sizeof(pkt));
	dataplane_uplink(e.dp, &e.pa, pkt, n);
	scion_underlay_flush(e.u);
	m = recv_within(r1, got, sizeof(got), 2000);
	CHECK(m == (ssize_t)n && memcmp(got, pkt, n) == 0,
	    "--scion-router: any egress interface there, byte-identical");
	/* the pool's ISD-AS is local; a UDP port in the dispatched range is the host's port */
	if ((host = udp_bound("127.0.0.2", lo, NULL)) < 0) {
		CHECK(0, "a host socket on 127.0.0.2:%u", lo);
	} else {
		n = up(IA_LOCAL, "127.0.0.2", 0, lo, pkt, sizeof(pkt));
		dataplane_uplink(e.dp, &e.pa, pkt, n);
		scion_underlay_flush(e.u);
		m = recv_within(host, got, sizeof(got), 2000);
		CHECK(m == (ssize_t)n && memcmp(got, pkt, n) == 0,
		    "the pool's ISD-AS is local: to the host at its UDP port %u, in the dispatched "
		    "range",
		    lo);
		close(host);
	}
	{
		const int *fds;

		CHECK_EQ_INT(scion_underlay_fds(e.u, &fds), 2,
		    "two sockets: the end-host port and the "
		    "range's one");
	}
	env_close(&e);
	close(r1);
}

/* Open with cfg and expect a refusal whose reason holds want. */
static void
refused(const struct scion_underlay_config *cfg, const char *want, const char *what)
{
	char why[512] = "";
	struct scion_underlay *u = scion_underlay_open(cfg, why, sizeof(why));

	CHECK(u == NULL && strstr(why, want) != NULL, "%s: refused, naming %s (\"%s\")", what, want,
	    why);
	scion_underlay_close(u);
}

static void
test_refusals(void)
{
	struct scion_underlay_config c = {.bind = "127.0.0.1", .router = "127.0.0.1:31002"};
	uint16_t taken;
	int fd = udp_bound("127.0.0.1", 0, &taken);

	c.router = "br.example:31002";
	refused(&c, "--scion-router \"br.example:31002\"", "a router by name");
	c.router = "[fd00::9]:31002";
	refused(&c, "is IPv6", "an IPv6 router from an IPv4 underlay");
	c.router = "127.0.0.1:31002";
	c.bind = "localhost";
	refused(&c, "--scion-bind \"localhost\"", "a bind address by name");
	c.bind = "127.0.0.1";
	c.ports_lo = 32000, c.ports_hi = 31000;
	refused(&c, "--scion-ports 32000-31000", "a range upside down");
	c.ports_lo = 1000, c.ports_hi = 6000;
	refused(&c, "--scion-ports 1000-6000", "a range of 5001 ports");
	c.ports_lo = c.ports_hi = 0;
	c.port = taken;
	refused(&c, "--scion-port", "a port taken");
	c.port = 0;
	c.router = NULL;
	c.topology = "/nonexistent/topology.json";
	refused(&c, "--scion-topology /nonexistent/topology.json", "a missing topology");
	close(fd);
}

int
main(void)
{
	test_topology();
	test_router();
	test_refusals();
	return check_done();
}
