/* The rtnetlink requests the tunnel endpoints need to set up their TUN device: link up and MTU,
 * addresses, routes. One request at a time, each acknowledged (NLM_F_ACK) before the call
 * returns, so an error is the kernel's answer to that request. System-call conventions: 0 or
 * -errno (-EEXIST for an address or route that is there already, -ESRCH / -EADDRNOTAVAIL for
 * one that is not, as the kernel says); nothing is logged. */
#ifndef LIB_NETLINK_H
#define LIB_NETLINK_H

#include "addr.h"

struct nl; /* an open NETLINK_ROUTE socket */

/* Open the socket: 0 with *out, or -errno. Blocking, close-on-exec; a request waits at most
 * 5 s for its answer (-ETIMEDOUT). */
int nl_open(struct nl **out);
void nl_close(struct nl *nl);

/* Set the link ifindex's MTU (0: leave it) and bring it up (up 1) or down (0); -ENODEV for no
 * such link, -EINVAL for an MTU the device refuses. */
int nl_link_set(struct nl *nl, int ifindex, unsigned mtu, int up);

/* Add (add 1) or delete (0) address a with prefix length plen on ifindex. The kernel adds the
 * connected route for the prefix itself (IPv4: metric 0, IPv6: 256). IPv6 addresses are added
 * without duplicate address detection: usable at once, even added while the link is down. A
 * plen over the family's bits is -EINVAL, a family other than 4 or 6 -EAFNOSUPPORT. */
int nl_addr(struct nl *nl, int add, int ifindex, const struct addr *a, unsigned plen);

/* Add (add 1) or delete (0) the route to prefix p via ifindex (a device route, no gateway),
 * with metric (0: the kernel's default, 0 for IPv4 and 1024 for IPv6) and preferred source src
 * (NULL: none; it must be an address of the host, else -EINVAL), in the main table, protocol
 * "static", IPv4 scope link. A delete matches on prefix, device and protocol, and on metric and
 * src when given: it removes only a route added this way, never one an operator made with
 * `ip route` (protocol "boot"). */
int nl_route(struct nl *nl, int add, int ifindex, const struct prefix *p, unsigned metric,
    const struct addr *src);

/* The way the kernel sends packets to one address: the device and, when not on-link, the
 * next hop. */
struct nl_path {
	int ifindex;
	struct addr gw; /* family 0: none, dst is on the device's link */
};

/* Ask the kernel (RTM_GETROUTE, the main lookup `ip route get` makes) how it reaches dst now:
 * 0 with *out, or -errno (-ENETUNREACH / -EHOSTUNREACH: no route; -EAFNOSUPPORT for a family
 * other than 4 or 6; -EPROTO for an answer without a device). */
int nl_route_get(struct nl *nl, const struct addr *dst, struct nl_path *out);

/* Add (add 1) or delete (0) the route to p along path via (its device, and its next hop when
 * via->gw has a family), in the main table, protocol "static", default metric; a delete
 * matches on prefix, device, next hop and protocol like nl_route's. 0 or -errno as nl_route
 * (-EINVAL also for a next hop of another family than p). */
int nl_route_via(struct nl *nl, int add, const struct prefix *p, const struct nl_path *via);

#endif
