/* The gateway TUN device's addresses and routes, following the pools (gwdev.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "gwdev.h"

/* One thing on the device: the gateway address gw with prefix.len, or (gw.family 0) the route to
 * prefix. */
struct gwdev_item {
	struct prefix prefix;
	struct addr gw;
};

struct gwdev {
	struct nl *nl;
	int ifindex;
	char name[64];
	struct gwdev_item *items; /* what is on the device now */
	size_t n, cap;
};

struct gwdev *
gwdev_new(struct nl *nl, int ifindex, const char *name)
{
	struct gwdev *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->nl = nl;
	g->ifindex = ifindex;
	snprintf(g->name, sizeof(g->name), "%s", name);
	return g;
}

static int
item_eq(const struct gwdev_item *a, const struct gwdev_item *b)
{
	return a->prefix.len == b->prefix.len && a->prefix.net.family == b->prefix.net.family &&
	    memcmp(a->prefix.net.b, b->prefix.net.b, 16) == 0 && a->gw.family == b->gw.family &&
	    memcmp(a->gw.b, b->gw.b, 16) == 0;
}

/* What pool p wants on the device, normalised so that item_eq compares it. */
static void
item_of(const struct state_pool *p, struct gwdev_item *it)
{
	memset(it, 0, sizeof(*it));
	it->prefix.len = p->prefix.len;
	it->prefix.net.family = p->prefix.net.family;
	memcpy(it->prefix.net.b, p->prefix.net.b, p->prefix.net.family == 4 ? 4 : 16);
	if (p->gateway.family != 0) {
		it->gw.family = p->gateway.family;
		memcpy(it->gw.b, p->gateway.b, p->gateway.family == 4 ? 4 : 16);
	}
}

/* Put it on the device (add 1) or take it off (0): 0 or -errno, logged. -EEXIST on adding and
 * -ESRCH / -EADDRNOTAVAIL on removing count as done. */
static int
apply(struct gwdev *g, const struct gwdev_item *it, int add)
{
	char text[PREFIX_STRLEN], gw[ADDR_STRLEN];
	int rv;

	if (it->gw.family != 0)
		rv = nl_addr(g->nl, add, g->ifindex, &it->gw, it->prefix.len);
	else
		rv = nl_route(g->nl, add, g->ifindex, &it->prefix, 0, NULL);
	if (rv == (add ? -EEXIST : -ESRCH) || (!add && rv == -EADDRNOTAVAIL) ||
	    (!add && rv == -ENODEV))
		rv = 0;
	prefix_format(&it->prefix, text);
	if (it->gw.family != 0) {
		addr_format(&it->gw, gw);
		if (rv < 0)
			log_warn("%s: cannot %s gateway address %s/%u: %s", g->name,
			    add ? "add" : "remove", gw, it->prefix.len, strerror(-rv));
		else
			log_info("%s: gateway address %s/%u %s", g->name, gw, it->prefix.len,
			    add ? "added" : "removed");
	} else if (rv < 0) {
		log_warn("%s: cannot %s the route to %s: %s", g->name, add ? "add" : "remove", text,
		    strerror(-rv));
	} else {
		log_info("%s: route to %s %s", g->name, text, add ? "added" : "removed");
	}
	return rv;
}

static int
wanted(const struct state *st, const struct gwdev_item *it)
{
	struct gwdev_item w;

	for (size_t i = 0; st != NULL && i < st->npools; i++) {
		if (st->pools[i].mode != STATE_POOL_IP)
			continue;
		item_of(&st->pools[i], &w);
		if (item_eq(&w, it))
			return 1;
	}
	return 0;
}

void
gwdev_sync(struct gwdev *g, const struct state *st)
{
	struct gwdev_item it;
	size_t i, k;

	/* first what goes (a pool whose gateway moved frees its prefix for the new address) */
	for (i = k = 0; i < g->n; i++) {
		if (!wanted(st, &g->items[i]) && apply(g, &g->items[i], 0) == 0)
			continue;
		g->items[k++] = g->items[i];
	}
	g->n = k;
	for (i = 0; st != NULL && i < st->npools; i++) {
		int have = 0;

		if (st->pools[i].mode != STATE_POOL_IP)
			continue;
		item_of(&st->pools[i], &it);
		for (k = 0; k < g->n && !have; k++)
			have = item_eq(&g->items[k], &it);
		if (have)
			continue;
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 8;
			struct gwdev_item *v = realloc(g->items, cap * sizeof(*v));

			if (v == NULL) {
				log_error("%s: out of memory for the pools' addresses", g->name);
				return;
			}
			g->items = v;
			g->cap = cap;
		}
		if (apply(g, &it, 1) == 0)
			g->items[g->n++] = it;
	}
}

void
gwdev_free(struct gwdev *g)
{
	if (g == NULL)
		return;
	gwdev_sync(g, NULL);
	free(g->items);
	free(g);
}
