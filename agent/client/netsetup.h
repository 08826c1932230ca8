/* The endhost's TUN device and what the kernel needs around it: the tunnel's address as a host
 * address (/32 or /128), the routes into the tunnel, the MTU (the QUIC datagram room), all
 * through lib/netlink.h, and all taken away again when it closes. */
#ifndef CLIENT_NETSETUP_H
#define CLIENT_NETSETUP_H

#include <net/if.h>

#include "../../lib/addr.h"

struct netsetup;

/* Create the TUN device name (NULL: the kernel's choice), link down until an address is set,
 * with offloads when the kernel has them (lib/tun.h tun_open_best; when not, that is logged
 * once). 0 with *out, its descriptor in *fd, its name in ifname and *offload 1 (packets behind
 * a struct vnethdr) or 0 (plain packets); or -errno (logged). */
int netsetup_open(
    const char *name, struct netsetup **out, int *fd, char ifname[IFNAMSIZ], int *offload);

/* Give the device address a (replacing the one it had, with its routes), bring it up with MTU
 * mtu and make its routes these (any number). Called again (a reconnect), the address and
 * the routes that stay are kept as they are: only the difference is added and removed. Before a route that holds server (the
 * agent's own address: the tunnel's packets to it would loop into the tunnel, as with a full
 * tunnel 0.0.0.0/0) a host route to server along its present way (device and next hop) is
 * added, and removed at close; when that cannot be, such a route is skipped with a warning,
 * as is one of another family than a. A route the kernel refuses is logged and
 * skipped; one that exists already (the host's own) is logged and left alone: only the routes
 * added here are removed later; the address is required: 0 or -errno. An IPv6 address with
 * mtu under 1280 (IPv6's minimum MTU) is not configured (logged; the device stays without it
 * and its routes) until netsetup_mtu sees the room reach 1280. */
int netsetup_address(struct netsetup *n, const struct addr *a, unsigned mtu,
    const struct prefix *routes, unsigned nroutes, const struct addr *server);

/* Set the MTU (the room changed); an IPv6 address that waits for a room of 1280 is configured
 * once mtu reaches it. 0 or -errno (logged). */
int netsetup_mtu(struct netsetup *n, unsigned mtu);

/* Remove the routes (the agent's host route too) and the address, close the device. NULL is fine. */
void netsetup_close(struct netsetup *n);

#endif
