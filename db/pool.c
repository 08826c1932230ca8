/* What every store backend shares about pools: names of the enums, validation, and the
 * occupancy arithmetic over a pool's counters. */
#include <stddef.h>

#include "../lib/text.h"
#include "pool.h"

static const char *const strategy_names[] = {"sequential", "random"};
static const char *const mode_names[] = {"ip", "scion"};

const char *
pool_strategy_str(enum pool_strategy s)
{
	return strategy_names[s];
}

int
pool_strategy_parse(const char *s, enum pool_strategy *out)
{
	int i = text_lookup(strategy_names, 2, s);

	if (i < 0)
		return -1;
	*out = (enum pool_strategy)i;
	return 0;
}

const char *
pool_mode_str(enum pool_mode m)
{
	return mode_names[m];
}

int
pool_mode_parse(const char *s, enum pool_mode *out)
{
	int i = text_lookup(mode_names, 2, s);

	if (i < 0)
		return -1;
	*out = (enum pool_mode)i;
	return 0;
}

int
pool_name_valid(const char *s)
{
	return text_name_valid(s, POOL_NAME_MAX, 0);
}

const char *
pool_prefix_check(const struct prefix *p)
{
	if (prefix_host_bits(p) > 64)
		return "an IPv6 pool must be a /64 or longer";
	return prefix_special_use(p);
}

uint64_t
pool_capacity(const struct pool *p)
{
	return p->last - p->first + 1 - (p->has_gateway ? 1 : 0);
}

const char *
pool_gateway_check(const struct pool *p, const struct addr *a, uint64_t *idx)
{
	if (a->family != p->prefix.net.family)
		return "not an address of the pool's family";
	if (prefix_index_of(&p->prefix, a, idx) < 0)
		return "not inside the pool's prefix";
	if (*idx < p->first || *idx > p->last)
		return "not a usable address of the pool's prefix";
	/* A pool of one address would have nothing left to grant. */
	if (p->first == p->last)
		return "the pool's only usable address";
	return NULL;
}

const char *
pool_route_check(const struct prefix *r, int family)
{
	/* Traffic for these never leaves the host (or the link): a client cannot route it into
	 * a tunnel. Wider routes that merely contain them (0.0.0.0/0) are fine. */
	static const struct {
		const char *prefix, *what;
	} local[] = {
	    {"127.0.0.0/8", "inside the IPv4 loopback range 127.0.0.0/8"},
	    {"169.254.0.0/16", "inside the IPv4 link-local range 169.254.0.0/16"},
	    {"224.0.0.0/4", "inside the IPv4 multicast range 224.0.0.0/4"},
	    {"::1/128", "the IPv6 loopback address ::1"},
	    {"fe80::/10", "inside the IPv6 link-local range fe80::/10"},
	    {"ff00::/8", "inside the IPv6 multicast range ff00::/8"},
	};
	struct prefix lp;
	const char *why;
	char whybuf[8];

	if (r->net.family != family)
		return family == 4 ? "not an IPv4 prefix (the pool is IPv4)"
				   : "not an IPv6 prefix (the pool is IPv6)";
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (prefix_parse(local[i].prefix, &lp, whybuf, sizeof(whybuf), &why) == 0 &&
		    lp.net.family == family && r->len >= lp.len && prefix_overlap(r, &lp))
			return local[i].what;
	return NULL;
}

void
pool_counts_of(const struct pool *p, int64_t lapsed, int64_t lapsed_reserved, struct pool_counts *c)
{
	c->size = pool_capacity(p);
	c->assigned = (uint64_t)p->n_assigned;
	c->on_hold = (uint64_t)(p->n_held - lapsed);
	c->reserved = (uint64_t)p->n_reserved;
	c->free = c->size - (uint64_t)p->n_occupied + (uint64_t)(lapsed - lapsed_reserved);
}
