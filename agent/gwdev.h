/* The gateway's TUN device as the pools want it (agent --tun): for each IP pool of the live state,
 * the pool's gateway address with the pool's prefix length on the device (the kernel then routes
 * the prefix there by itself), or, for a pool without a gateway, a device route for the prefix.
 * gwdev_sync() after every change of the pools (snapshot, POOL_UPDATE) adds what is missing and
 * removes what it added that no pool wants any more; gwdev_free() removes the rest. Failures are
 * logged (a pool's prefix another interface already routes is the operator's to sort out) and
 * retried at the next sync. */
#ifndef AGENT_GWDEV_H
#define AGENT_GWDEV_H

#include "../lib/netlink.h"
#include "state.h"

struct gwdev;

/* For the device ifindex (named name, for the log), through nl (the caller's, closed after
 * gwdev_free()). NULL when out of memory. */
struct gwdev *gwdev_new(struct nl *nl, int ifindex, const char *name);
void gwdev_free(struct gwdev *g);

void gwdev_sync(struct gwdev *g, const struct state *st);

#endif
