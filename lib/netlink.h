/* The rtnetlink requests the tunnel endpoints need to set up their TUN device: link up and MTU,
 * addresses, routes. One request at a time, each acknowledged (NLM_F_ACK) before the call
 * returns, so an error is the kernel's answer to that request. System-call conventions: 0 or
 * -errno (-EEXIST for an address or route that is there already, -ESRCH / -EADDRNOTAVAIL for
 * one that is not, as the kernel says); nothing is logged. */
#ifndef LIB_NETLINK_H
#define LIB_NETLINK_H

#include "addr.h"

struct nl; /* an open NETLINK_ROUTE socket */

/* Open the socket: 0 with *out, or -errno. */
int nl_open(struct nl **out);
void nl_close(struct nl *nl);

/* Set the link ifindex's MTU (0: leave it) and bring it up (up 1) or down (0). */
int nl_link_set(struct nl *nl, int ifindex, unsigned mtu, int up);

/* Add (add 1) or delete (0) address a with prefix length plen on ifindex. The kernel adds the
 * connected route for the prefix itself (for IPv6 without duplicate address detection: the
 * address is usable at once). */
int nl_addr(struct nl *nl, int add, int ifindex, const struct addr *a, unsigned plen);

/* Add (add 1) or delete (0) the route to prefix p via ifindex (a device route, no gateway),
 * with metric (0: the kernel's default) and preferred source src (NULL: none), in the main
 * table. */
int nl_route(struct nl *nl, int add, int ifindex, const struct prefix *p, unsigned metric,
    const struct addr *src);

#endif
