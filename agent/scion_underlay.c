/* The scion sink: the SCION underlay's sockets, routers and local hosts (scion_underlay.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/scion.h"
#include "../lib/sockaddr.h"
#include "../lib/text.h"
#include "quic/quic_udp.h"
#include "scion_topo.h"
#include "scion_underlay.h"

#define RX_CAP 65536 /* any UDP payload: a datagram is never cut */

/* Where uplink datagrams go: a router's socket address for the sockets' family. */
struct hop {
	struct sockaddr_storage sa;
	socklen_t len;
};

struct scion_underlay {
	struct scion_topo topo; /* with --scion-router: that router alone, no interfaces */
	int single; /* --scion-router: routers[0] for every interface */
	struct hop *routers; /* by topo.routers index */
	int family; /* AF_INET or AF_INET6, the sockets' */
	uint16_t port, ports_lo, ports_hi;
	int *fds; /* [0]: the end-host port; then the dispatched range */
	size_t nfds;
	struct addr local;
	int has_local;
	struct quic_txbatch *tx; /* the uplink datagrams until flushed, sent from fds[0] */
	uint8_t *rxmem, *rxbufs[SCION_UNDERLAY_BATCH];
	struct scion_underlay_stats stats;
};

/* The socket address of (a, port) for u's sockets: an IPv4 address is mapped for an IPv6
 * socket (which takes both); an IPv6 one cannot be reached from an IPv4 socket. 0 or -1. */
static int
to_sockaddr(const struct scion_underlay *u, const struct addr *a, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (u->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		if (a->family != 4)
			return -1;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, a->b, 4);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (a->family != 4 && a->family != 6)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		if (a->family == 6) {
			memcpy(&in6->sin6_addr, a->b, 16);
		} else {
			in6->sin6_addr.s6_addr[10] = 0xff;
			in6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&in6->sin6_addr.s6_addr[12], a->b, 4);
		}
		*len = sizeof(*in6);
	}
	return 0;
}

/* A non-blocking UDP socket of u's family bound to (bind, port): its descriptor, or -1 with
 * errno. An IPv6 one takes IPv4 too (mapped addresses). */
static int
socket_open(const struct scion_underlay *u, const struct addr *bind_to, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, zero = 0, e;

	if (to_sockaddr(u, bind_to, port, &ss, &len) < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if ((fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (u->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The routers: the topology file's, or the one --scion-router names. */
static int
routers_load(
    struct scion_underlay *u, const struct scion_underlay_config *cfg, char *why, size_t whylen)
{
	char reason[512];

	if (cfg->topology != NULL) {
		if (scion_topo_load(cfg->topology, &u->topo, reason, sizeof(reason)) < 0)
			return text_fail(why, whylen, "--scion-topology %s", reason);
	} else {
		struct sockaddr_storage ss;
		socklen_t len;
		struct scion_topo_router *r;

		u->single = 1;
		if ((u->topo.routers = r = calloc(1, sizeof(*r))) == NULL)
			return text_fail(why, whylen, "out of memory");
		u->topo.nrouters = 1;
		snprintf(r->name, sizeof(r->name), "--scion-router");
		if (sockaddr_parse(cfg->router, &ss, &len) < 0 ||
		    sockaddr_host((struct sockaddr *)&ss, &r->host, &r->port) < 0 || r->port == 0)
			return text_fail(why, whylen,
			    "--scion-router \"%s\": not a numeric HOST:PORT (1.2.3.4:31002 or "
			    "[2001:db8::1]:31002) with a port",
			    cfg->router);
	}
	if ((u->routers = calloc(u->topo.nrouters, sizeof(*u->routers))) == NULL)
		return text_fail(why, whylen, "out of memory");
	for (size_t i = 0; i < u->topo.nrouters; i++) {
		const struct scion_topo_router *r = &u->topo.routers[i];

		if (to_sockaddr(u, &r->host, r->port, &u->routers[i].sa, &u->routers[i].len) < 0) {
			char a[ADDR_STRLEN];

			addr_format(&r->host, a);
			return text_fail(why, whylen,
			    "border router \"%s\" (%s) is IPv6, the underlay's sockets IPv4: set "
			    "--scion-bind to an IPv6 address (:: takes both)",
			    r->name, a);
		}
	}
	return 0;
}

/* The agent's own address on the underlay: the bound one, else (a wildcard) the source the
 * kernel picks toward the first router (a connected UDP socket; nothing is sent). */
static void
local_find(struct scion_underlay *u, const struct addr *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint16_t port;
	int fd;

	if (!addr_is_zero(bound)) {
		u->local = *bound;
		u->has_local = 1;
		return;
	}
	if ((fd = socket(u->family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (connect(fd, (struct sockaddr *)&u->routers[0].sa, u->routers[0].len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    sockaddr_host((struct sockaddr *)&ss, &u->local, &port) == 0 &&
	    !addr_is_zero(&u->local))
		u->has_local = 1;
	close(fd);
}

/* The end-host port's socket, then one per port of the dispatched range. */
static int
sockets_open(struct scion_underlay *u, const struct scion_underlay_config *cfg,
    const struct addr *bind_to, char *why, size_t whylen)
{
	size_t n = 1 + (cfg->ports_lo != 0 ? (size_t)(cfg->ports_hi - cfg->ports_lo) + 1 : 0);
	char a[ADDR_STRLEN];

	addr_format(bind_to, a);
	if ((u->fds = calloc(n, sizeof(*u->fds))) == NULL)
		return text_fail(why, whylen, "out of memory");
	if ((u->fds[0] = socket_open(u, bind_to, cfg->port)) < 0)
		return text_fail(why, whylen, "--scion-port %u: cannot bind %s port %u: %s",
		    cfg->port, a, cfg->port, strerror(errno));
	u->nfds = 1;
	if (cfg->port == 0) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct addr ignored;

		/* a free port, for tests: the end-host port local hosts are sent to is it */
		if (getsockname(u->fds[0], (struct sockaddr *)&ss, &len) < 0 ||
		    sockaddr_host((struct sockaddr *)&ss, &ignored, &u->port) < 0)
			return text_fail(
			    why, whylen, "--scion-port: getsockname: %s", strerror(errno));
	}
	for (unsigned p = cfg->ports_lo; cfg->ports_lo != 0 && p <= cfg->ports_hi; p++) {
		if (p == u->port)
			continue; /* the end-host port's socket has it */
		if ((u->fds[u->nfds] = socket_open(u, bind_to, (uint16_t)p)) < 0)
			return text_fail(why, whylen,
			    "--scion-ports %u-%u: cannot bind %s port %u: %s%s", cfg->ports_lo,
			    cfg->ports_hi, a, p, strerror(errno),
			    errno == EMFILE ? " (one socket per port: raise the limit on open "
					      "files, ulimit -n)"
					    : "");
		u->nfds++;
	}
	return 0;
}

struct scion_underlay *
scion_underlay_open(const struct scion_underlay_config *cfg, char *why, size_t whylen)
{
	struct scion_underlay *u;
	struct addr bind_to;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		text_fail(why, whylen, "out of memory");
		return NULL;
	}
	u->port = cfg->port;
	u->ports_lo = cfg->ports_lo;
	u->ports_hi = cfg->ports_hi;
	if (addr_parse(cfg->bind, &bind_to) < 0) {
		text_fail(why, whylen, "--scion-bind \"%s\": not a numeric IPv4 or IPv6 address",
		    cfg->bind);
		goto fail;
	}
	u->family = bind_to.family == 4 ? AF_INET : AF_INET6;
	if (cfg->ports_lo != 0 &&
	    (cfg->ports_lo > cfg->ports_hi ||
		cfg->ports_hi - cfg->ports_lo + 1 > SCION_UNDERLAY_PORTS_MAX)) {
		text_fail(why, whylen, "--scion-ports %u-%u: not a range of 1 to %d ports",
		    cfg->ports_lo, cfg->ports_hi, SCION_UNDERLAY_PORTS_MAX);
		goto fail;
	}
	if (routers_load(u, cfg, why, whylen) < 0 ||
	    sockets_open(u, cfg, &bind_to, why, whylen) < 0)
		goto fail;
	local_find(u, &bind_to);
	if ((u->tx = calloc(1, sizeof(*u->tx))) == NULL ||
	    (u->rxmem = malloc((size_t)RX_CAP * SCION_UNDERLAY_BATCH)) == NULL) {
		text_fail(why, whylen, "out of memory");
		goto fail;
	}
	u->tx->fd = u->fds[0];
	u->tx->gso = quic_udp_gso(u->fds[0]);
	for (int i = 0; i < SCION_UNDERLAY_BATCH; i++)
		u->rxbufs[i] = u->rxmem + (size_t)i * RX_CAP;
	return u;
fail:
	scion_underlay_close(u);
	return NULL;
}

void
scion_underlay_close(struct scion_underlay *u)
{
	if (u == NULL)
		return;
	if (u->tx != NULL)
		quic_tx_flush(u->tx);
	for (size_t i = 0; i < u->nfds; i++)
		close(u->fds[i]);
	free(u->fds);
	free(u->routers);
	free(u->tx);
	free(u->rxmem);
	scion_topo_free(&u->topo);
	free(u);
}

/* Queue one datagram to to (sent at the next flush, or at once when it is larger than a batch's
 * slot). */
static void
send_to(struct scion_underlay *u, const uint8_t *pkt, size_t len, const struct sockaddr *to,
    socklen_t tolen)
{
	u->stats.tx_packets++;
	u->stats.tx_bytes += len;
	if (len > QUIC_PKT_MAX) {
		quic_tx_flush(u->tx); /* keep the order */
		quic_udp_send1(u->fds[0], pkt, len, to, tolen, NULL);
		return;
	}
	memcpy(quic_tx_slot(u->tx), pkt, len);
	quic_tx_commit(u->tx, len, to, tolen, NULL);
}

/* An uplink packet for the local ISD-AS: into the tunnel owning its destination host (the
 * network would route it back to this agent: the pools' prefixes lead here), else to that
 * host, at the packet's UDP destination port when it is in the dispatched range, else at the
 * end-host port. */
static int
local_output(struct scion_underlay *u, struct dataplane *dp, struct dp_port *from,
    const uint8_t *pkt, size_t len, const struct dp_dest *dst)
{
	struct sockaddr_storage ss;
	struct scion_hdr h;
	struct dp_port *to;
	socklen_t sslen;
	uint16_t port;

	if ((to = dataplane_route_find(dp, &dst->host)) != NULL) {
		if (dataplane_isolated(dp, &from->addr, &dst->host))
			return DP_DROP_ISOLATED;
		u->stats.local++;
		u->stats.hairpin++;
		return dataplane_forward(dp, from, to, pkt, len, &dst->host);
	}
	if (scion_dispatch_key(pkt, len, &h, &port) != SCION_DISPATCH_UDP || u->ports_lo == 0 ||
	    port < u->ports_lo || port > u->ports_hi)
		port = u->port;
	/* a service address (family 0) names no host on the underlay */
	if (to_sockaddr(u, &dst->host, port, &ss, &sslen) < 0)
		return DP_DROP_NO_ROUTE;
	u->stats.local++;
	send_to(u, pkt, len, (struct sockaddr *)&ss, sslen);
	return 0;
}

static int
underlay_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt,
    size_t len, const struct dp_dest *dst)
{
	struct scion_underlay *u = arg;
	uint64_t local = u->topo.isd_as;
	int r = 0;

	if (local == 0) {
		const struct dp_pool *pool = dataplane_pool_of(dp, &from->addr);

		local = pool != NULL ? pool->isd_as : 0;
	}
	if (dst->isd_as == local)
		return local_output(u, dp, from, pkt, len, dst);
	if (!u->single && (r = scion_topo_router_of(&u->topo, (uint16_t)dst->egress_if)) < 0)
		return DP_DROP_NO_ROUTE; /* an interface no router of the topology has */
	send_to(u, pkt, len, (struct sockaddr *)&u->routers[r].sa, u->routers[r].len);
	return 0;
}

void
scion_underlay_sink(struct scion_underlay *u, struct dp_sink *out)
{
	out->name = "scion";
	out->output = underlay_output;
	out->answer = NULL; /* scion mode answers nothing towards the underlay (dp_scion.c) */
	out->arg = u;
}

size_t
scion_underlay_fds(const struct scion_underlay *u, const int **fds)
{
	*fds = u->fds;
	return u->nfds;
}

int
scion_underlay_read(struct scion_underlay *u, int fd, struct dataplane *dp)
{
	struct mmsghdr msgs[SCION_UNDERLAY_BATCH];
	struct iovec iov[SCION_UNDERLAY_BATCH];
	int total = 0;

	for (int round = 0; round < SCION_UNDERLAY_ROUNDS; round++) {
		int n;

		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < SCION_UNDERLAY_BATCH; i++) {
			iov[i].iov_base = u->rxbufs[i];
			iov[i].iov_len = RX_CAP;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = recvmmsg(fd, msgs, SCION_UNDERLAY_BATCH, MSG_DONTWAIT, NULL)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || total > 0)
				return total;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			u->stats.rx_packets++;
			u->stats.rx_bytes += msgs[i].msg_len;
			dataplane_downlink(dp, u->rxbufs[i], msgs[i].msg_len);
		}
		total += n;
		if (n < SCION_UNDERLAY_BATCH)
			break;
	}
	return total;
}

void
scion_underlay_flush(struct scion_underlay *u)
{
	quic_tx_flush(u->tx);
}

uint64_t
scion_underlay_isd_as(const struct scion_underlay *u)
{
	return u->topo.isd_as;
}

int
scion_underlay_local(const struct scion_underlay *u, struct addr *out)
{
	if (!u->has_local)
		return -1;
	*out = u->local;
	return 0;
}

void
scion_underlay_name(const struct scion_underlay *u, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (getsockname(u->fds[0], (struct sockaddr *)&ss, &sslen) < 0)
		snprintf(buf, len, "?");
	else
		sockaddr_format((struct sockaddr *)&ss, buf, len);
}

void
scion_underlay_stats(const struct scion_underlay *u, struct scion_underlay_stats *out)
{
	*out = u->stats;
}
