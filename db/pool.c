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

void
pool_counts_of(const struct pool *p, int64_t lapsed, int64_t lapsed_reserved, struct pool_counts *c)
{
	c->size = p->last - p->first + 1;
	c->assigned = (uint64_t)p->n_assigned;
	c->on_hold = (uint64_t)(p->n_held - lapsed);
	c->reserved = (uint64_t)p->n_reserved;
	c->free = c->size - (uint64_t)p->n_occupied + (uint64_t)(lapsed - lapsed_reserved);
}
