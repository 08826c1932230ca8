/* The TUN device's address, routes and MTU (netsetup.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../lib/netlink.h"
#include "../../lib/tun.h"
#include "netsetup.h"

/* IPv6 needs 1280 (RFC 8200 §5): below it Linux takes IPv6 off the device. The pump answers
 * packets over the room with ICMP too big, so the device may announce more than the room. */
#define MTU_MIN_V6 1280
#define MTU_MIN_V4 576

struct netsetup {
	struct nl *nl;
	int fd, ifindex;
	char ifname[IFNAMSIZ];
	struct addr addr; /* family 0: none set */
	struct prefix *routes; /* the routes added here, nroutes of cap */
	unsigned nroutes, cap;
	/* The agent's host route along the path it had before the tunnel's routes, so that a
	 * route holding its address (0.0.0.0/0, a full tunnel) does not pull the tunnel's own
	 * packets into the tunnel. */
	int pinned, pin_ours; /* pin_ours: added here (else the host had it: not removed) */
	struct prefix pin;
	struct nl_path pin_via;
	/* An IPv6 address given while the room is under MTU_MIN_V6: kept here, not configured,
	 * until netsetup_mtu sees the room grow. */
	int v6_waiting;
	struct addr wait_addr, wait_server;
	struct prefix *wait_routes;
	unsigned wait_nroutes;
};

/* No IPv6 link-local address on the device (addr_gen_mode 1, "none"), set while it is still
 * down: with one, the kernel sends router solicitations from it into the tunnel as soon as the
 * device is up, which no gateway routes and which the agent counts as spoofed (the source is not
 * the tunnel's address) for every client. The tunnel's own address and routes do not need it.
 * A kernel without IPv6 has no such file: nothing to stop then. */
static void
no_link_local(const char *ifname)
{
	char path[64 + IFNAMSIZ];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/addr_gen_mode", ifname);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			log_warn("%s: %s (the device may send IPv6 link-local packets into the "
				 "tunnel)",
			    path, strerror(errno));
		return;
	}
	if (write(fd, "1", 1) != 1)
		log_warn("%s: %s (the device may send IPv6 link-local packets into the tunnel)",
		    path, strerror(errno));
	close(fd);
}

/* What the user can do about a failed tun_open. */
static const char *
tun_hint(int err)
{
	switch (err) {
	case EPERM:
	case EACCES: return " (needs CAP_NET_ADMIN: run as root, or use --relay)";
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return " (no /dev/net/tun: load the tun module with `modprobe tun`, or in a "
		       "container pass the device in; or use --relay)";
	case EBUSY: return " (a device of that name is in use: give another --tun)";
	default: return "";
	}
}

int
netsetup_open(const char *name, struct netsetup **out, int *fd, char ifname[IFNAMSIZ], int *offload)
{
	struct netsetup *n;
	int rv, refused;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	n->fd = -1;
	if ((rv = tun_open_best(name, &n->fd, n->ifname, &refused)) < 0) {
		log_error("cannot create the TUN device \"%s\": %s%s", name != NULL ? name : "",
		    strerror(-rv), tun_hint(-rv));
		goto fail;
	}
	if ((n->ifindex = (int)if_nametoindex(n->ifname)) == 0) {
		rv = -errno;
		log_error("TUN device %s: %s", n->ifname, strerror(errno));
		goto fail;
	}
	if (refused != 0)
		log_warn("TUN device %s: no offloads (%s): one packet per read and write",
		    n->ifname, strerror(refused));
	*offload = refused == 0;
	no_link_local(n->ifname);
	if ((rv = nl_open(&n->nl)) < 0) {
		log_error("netlink: %s", strerror(-rv));
		goto fail;
	}
	*out = n;
	*fd = n->fd;
	memcpy(ifname, n->ifname, IFNAMSIZ);
	return 0;
fail:
	netsetup_close(n);
	return rv;
}

static unsigned
mtu_for(const struct netsetup *n, unsigned mtu)
{
	unsigned min = n->addr.family == 6 ? MTU_MIN_V6 : MTU_MIN_V4;

	return mtu < min ? min : mtu;
}

static int
prefix_in(const struct prefix *list, unsigned n, const struct prefix *p)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (list[i].len == p->len && memcmp(&list[i].net, &p->net, sizeof(p->net)) == 0)
			return 1;
	return 0;
}

static void
route_del(struct netsetup *n, const struct prefix *r)
{
	char p[PREFIX_STRLEN];
	int rv = nl_route(n->nl, 0, n->ifindex, r, 0, NULL);

	if (rv < 0 && rv != -ESRCH && rv != -ENODEV) {
		prefix_format(r, p);
		log_warn("cannot remove the route %s from %s: %s", p, n->ifname, strerror(-rv));
	}
}

static void
routes_del(struct netsetup *n)
{
	unsigned i;

	for (i = 0; i < n->nroutes; i++)
		route_del(n, &n->routes[i]);
	n->nroutes = 0;
}

static void
pin_del(struct netsetup *n)
{
	char p[PREFIX_STRLEN];
	int rv;

	if (n->pinned && n->pin_ours) {
		rv = nl_route_via(n->nl, 0, &n->pin, &n->pin_via);
		if (rv < 0 && rv != -ESRCH && rv != -ENODEV) {
			prefix_format(&n->pin, p);
			log_warn(
			    "cannot remove the host route %s to the agent: %s", p, strerror(-rv));
		}
	}
	n->pinned = n->pin_ours = 0;
}

/* Pin the route to the agent at server: a host route along the way the kernel takes to it now
 * (looked up before a route holding it goes in). 0 when its packets are safe from the tunnel's
 * routes, -1 (logged) when they are not. */
static int
pin_agent(struct netsetup *n, const struct addr *server)
{
	struct prefix host = {.net = *server, .len = server->family == 4 ? 32 : 128};
	char sv[ADDR_STRLEN], gw[ADDR_STRLEN + 8] = "", dev[IFNAMSIZ];
	struct nl_path via;
	int rv;

	if (n->pinned && memcmp(&n->pin, &host, sizeof(host)) == 0)
		return 0;
	pin_del(n);
	addr_format(server, sv);
	if ((rv = nl_route_get(n->nl, server, &via)) < 0) {
		log_warn("no route to the agent %s: %s", sv, strerror(-rv));
		return -1;
	}
	if (via.ifindex == n->ifindex) {
		log_warn("the agent %s is reached through %s itself: its route cannot be kept "
			 "outside the tunnel",
		    sv, n->ifname);
		return -1;
	}
	rv = nl_route_via(n->nl, 1, &host, &via);
	if (rv < 0 && rv != -EEXIST) {
		log_warn("cannot add a host route to the agent %s: %s", sv, strerror(-rv));
		return -1;
	}
	n->pin = host;
	n->pin_via = via;
	n->pinned = 1;
	n->pin_ours = rv == 0;
	if (via.gw.family != 0) {
		memcpy(gw, " via ", 5);
		addr_format(&via.gw, gw + 5);
	}
	if (if_indextoname((unsigned)via.ifindex, dev) == NULL)
		snprintf(dev, sizeof(dev), "#%d", via.ifindex);
	log_info("host route to the agent %s%s dev %s%s: the tunnel's own packets stay outside it",
	    sv, gw, dev, n->pin_ours ? "" : " (the host's, left alone)");
	return 0;
}

static void
addr_del(struct netsetup *n)
{
	char a[ADDR_STRLEN];
	int rv;

	if (n->addr.family == 0)
		return;
	rv = nl_addr(n->nl, 0, n->ifindex, &n->addr, n->addr.family == 4 ? 32 : 128);
	if (rv < 0 && rv != -EADDRNOTAVAIL && rv != -ENODEV) {
		addr_format(&n->addr, a);
		log_warn("cannot remove the address %s from %s: %s", a, n->ifname, strerror(-rv));
	}
	memset(&n->addr, 0, sizeof(n->addr));
}

/* The routes to have, from routes: those of a's family, each once. *want holds nroutes. */
static unsigned
routes_wanted(
    const struct addr *a, const struct prefix *routes, unsigned nroutes, struct prefix *want)
{
	char text[PREFIX_STRLEN];
	unsigned i, n = 0;

	for (i = 0; i < nroutes; i++) {
		if (routes[i].net.family != a->family) {
			prefix_format(&routes[i], text);
			log_warn("route %s skipped: the tunnel has no address of its family", text);
			continue;
		}
		/* listed twice (a pool's route given as --route too): once */
		if (!prefix_in(want, n, &routes[i]))
			want[n++] = routes[i];
	}
	return n;
}

/* Keep the agent's packets outside the tunnel: drop from want what holds server when its host
 * route cannot be pinned, and the pin when nothing needs it any more. The new number. */
static unsigned
routes_guard(struct netsetup *n, const struct addr *server, struct prefix *want, unsigned nwant)
{
	char text[PREFIX_STRLEN], sv[ADDR_STRLEN];
	struct prefix host;
	unsigned i, kept = 0;
	int need = 0;

	if (server == NULL || server->family == 0) {
		pin_del(n);
		return nwant;
	}
	host.net = *server;
	host.len = server->family == 4 ? 32 : 128;
	for (i = 0; i < nwant && !need; i++)
		need = prefix_overlap(&want[i], &host);
	if (n->pinned && memcmp(&n->pin, &host, sizeof(host)) != 0) {
		/* another agent: its way must be looked up without our routes in it */
		routes_del(n);
		pin_del(n);
	}
	if (!need) {
		pin_del(n);
		return nwant;
	}
	if (pin_agent(n, server) == 0)
		return nwant;
	addr_format(server, sv);
	for (i = 0; i < nwant; i++) {
		if (prefix_overlap(&want[i], &host)) {
			prefix_format(&want[i], text);
			log_warn("route %s skipped: it holds the agent's address %s, the tunnel's "
				 "own path",
			    text, sv);
			continue;
		}
		want[kept++] = want[i];
	}
	return kept;
}

/* IPv6 over a room under its minimum MTU would be a broken link: packets between the room
 * and 1280 bytes could never pass (a sender takes no "packet too big" under 1280). Keep the
 * configuration for when the room grows (path MTU discovery) instead. 0, or -ENOMEM. */
static int
v6_wait(struct netsetup *n, const struct addr *a, unsigned mtu, const struct prefix *routes,
    unsigned nroutes, const struct addr *server)
{
	char text[ADDR_STRLEN];
	struct prefix *copy = NULL;

	if (nroutes > 0 && (copy = calloc(nroutes, sizeof(*copy))) == NULL)
		return -ENOMEM;
	if (nroutes > 0)
		memcpy(copy, routes, nroutes * sizeof(*copy));
	free(n->wait_routes);
	n->wait_routes = copy;
	n->wait_nroutes = nroutes;
	n->wait_addr = *a;
	memset(&n->wait_server, 0, sizeof(n->wait_server));
	if (server != NULL)
		n->wait_server = *server;
	n->v6_waiting = 1;
	addr_format(a, text);
	log_warn("%s: the tunnel carries packets of up to %u bytes, under IPv6's minimum MTU of "
		 "%d: the IPv6 address %s is not configured until the room grows (the path to "
		 "the agent needs an MTU of about %d)",
	    n->ifname, mtu, MTU_MIN_V6, text, MTU_MIN_V6 + 100);
	return 0;
}

int
netsetup_address(struct netsetup *n, const struct addr *a, unsigned mtu,
    const struct prefix *routes, unsigned nroutes, const struct addr *server)
{
	char text[PREFIX_STRLEN];
	struct prefix *want = NULL;
	unsigned i, nwant, kept, added = 0, removed = 0;
	int rv;

	n->v6_waiting = 0;
	if (a->family == 6 && mtu < MTU_MIN_V6 &&
	    (n->addr.family == 0 || memcmp(&n->addr, a, sizeof(*a)) != 0)) {
		routes_del(n);
		pin_del(n);
		addr_del(n);
		return v6_wait(n, a, mtu, routes, nroutes, server);
	}

	if (n->addr.family != 0 && memcmp(&n->addr, a, sizeof(*a)) != 0) {
		/* the routes name the old address as their source: all go with it */
		routes_del(n);
		addr_del(n);
	}
	addr_format(a, text);
	if (n->addr.family == 0) {
		rv = nl_addr(n->nl, 1, n->ifindex, a, a->family == 4 ? 32 : 128);
		if (rv < 0 && rv != -EEXIST) {
			log_error(
			    "cannot give %s the address %s: %s", n->ifname, text, strerror(-rv));
			return rv;
		}
		n->addr = *a;
	}
	if ((rv = nl_link_set(n->nl, n->ifindex, mtu_for(n, mtu), 1)) < 0) {
		log_error(
		    "cannot bring %s up (MTU %u): %s", n->ifname, mtu_for(n, mtu), strerror(-rv));
		return rv;
	}
	log_info("%s: address %s, MTU %u", n->ifname, text, mtu_for(n, mtu));
	if (nroutes > n->cap) {
		struct prefix *grown = realloc(n->routes, nroutes * sizeof(*grown));

		if (grown == NULL) {
			log_error("%s: out of memory for %u routes", n->ifname, nroutes);
			return -ENOMEM;
		}
		n->routes = grown;
		n->cap = nroutes;
	}
	if (nroutes > 0 && (want = calloc(nroutes, sizeof(*want))) == NULL) {
		log_error("%s: out of memory for %u routes", n->ifname, nroutes);
		return -ENOMEM;
	}
	nwant = routes_wanted(a, routes, nroutes, want);
	nwant = routes_guard(n, server, want, nwant);
	/* Only the difference: a reconnect to the same address keeps every route, so packets
	 * meanwhile wait in the device's path instead of finding no route (or another one). */
	for (i = kept = 0; i < n->nroutes; i++) {
		if (prefix_in(want, nwant, &n->routes[i])) {
			n->routes[kept++] = n->routes[i];
			continue;
		}
		route_del(n, &n->routes[i]);
		removed++;
	}
	n->nroutes = kept;
	for (i = 0; i < nwant; i++) {
		if (prefix_in(n->routes, n->nroutes, &want[i]))
			continue;
		prefix_format(&want[i], text);
		rv = nl_route(n->nl, 1, n->ifindex, &want[i], 0, &n->addr);
		if (rv == -EEXIST) {
			/* the host's own route (or another program's): not ours to remove at stop */
			log_warn("route %s exists already: left alone, packets to it do not go "
				 "through %s",
			    text, n->ifname);
			continue;
		}
		if (rv < 0) {
			log_warn("route %s via %s refused: %s", text, n->ifname, strerror(-rv));
			continue;
		}
		n->routes[n->nroutes++] = want[i];
		added++;
		log_info("route %s via %s", text, n->ifname);
	}
	if (kept > 0 || removed > 0)
		log_info(
		    "%s: %u routes kept, %u added, %u removed", n->ifname, kept, added, removed);
	free(want);
	return 0;
}

int
netsetup_mtu(struct netsetup *n, unsigned mtu)
{
	int rv;

	if (n->v6_waiting) {
		if (mtu < MTU_MIN_V6)
			return 0;
		log_info("%s: the room grew to %u bytes: configuring IPv6", n->ifname, mtu);
		return netsetup_address(n, &n->wait_addr, mtu, n->wait_routes, n->wait_nroutes,
		    n->wait_server.family != 0 ? &n->wait_server : NULL);
	}
	rv = nl_link_set(n->nl, n->ifindex, mtu_for(n, mtu), 1);

	if (rv < 0)
		log_warn("cannot set the MTU of %s to %u: %s", n->ifname, mtu_for(n, mtu),
		    strerror(-rv));
	else
		log_info("%s: MTU %u", n->ifname, mtu_for(n, mtu));
	return rv;
}

void
netsetup_close(struct netsetup *n)
{
	if (n == NULL)
		return;
	if (n->nl != NULL) {
		routes_del(n);
		pin_del(n);
		addr_del(n);
		nl_close(n->nl);
	}
	if (n->fd != -1)
		close(n->fd);
	free(n->routes);
	free(n->wait_routes);
	free(n);
}
