/* The store of pools (db/pool.h) and of sequential pools' reuse lists (db/freeaddr.h) against
 * a real SQLite file: create and its conflicts, get, paging, the allocator's order, update,
 * delete with and without force, the counters, occupied indexes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/db.h"
#include "../../db/freeaddr.h"
#include "../../db/grant.h"
#include "../../db/pool.h"
#include "../../db/reservation.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define IA_110 0x0001ff0000000110ULL
#define IA_111 0x0001ff0000000111ULL
#define T0 1700000000

static struct db *db;

static int
mkpool(const char *name, uint64_t ia, const char *prefix, struct pool *p, struct pool_conflict *c)
{
	const char *why;
	char whybuf[64];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->isd_as = ia;
	if (prefix_parse(prefix, &p->prefix, whybuf, sizeof(whybuf), &why) < 0)
		return ERR_INVALID;
	p->hold_seconds = 600;
	return pool_create(db, p, T0, c);
}

/* A grant row of p at index idx, as the allocator inserts one. */
static int64_t
mkgrant(const struct pool *p, uint64_t idx, const char *pssid)
{
	struct grant g = {0};
	struct addr a;

	g.pool_id = p->id;
	g.index = idx;
	prefix_addr_at(&p->prefix, idx, &a);
	addr_format(&a, g.address);
	snprintf(g.pssid, sizeof(g.pssid), "%s", pssid);
	g.agent_id = 1;
	g.session_id = 1;
	g.assigned_at = T0;
	return grant_insert(db, &g) == 0 ? g.id : -1;
}

static void
test_names(void)
{
	enum pool_strategy s;
	enum pool_mode m;
	struct prefix p;
	const char *why;
	char whybuf[64];

	CHECK(pool_strategy_parse("random", &s) == 0 && s == POOL_RANDOM &&
		strcmp(pool_strategy_str(POOL_SEQUENTIAL), "sequential") == 0,
	    "strategies to and from text");
	CHECK(pool_strategy_parse("fastest", &s) < 0, "an unknown strategy is refused");
	CHECK(pool_mode_parse("scion", &m) == 0 && m == POOL_MODE_SCION &&
		strcmp(pool_mode_str(POOL_MODE_IP), "ip") == 0 && pool_mode_parse("x", &m) < 0,
	    "modes to and from text");
	CHECK(pool_name_valid("office") && !pool_name_valid("") && !pool_name_valid("a\nb"),
	    "pool names: not empty, no control characters");
	prefix_parse("2001:db8::/56", &p, whybuf, sizeof(whybuf), &why);
	CHECK(pool_prefix_check(&p) != NULL, "an IPv6 pool wider than /64 is refused");
	prefix_parse("2001:db8::/64", &p, whybuf, sizeof(whybuf), &why);
	CHECK(pool_prefix_check(&p) == NULL, "a /64 is a pool");
}

static void
test_create_get_list(void)
{
	struct pool_conflict c;
	struct pool p, q, v[4], *all;
	int n, rv;

	rv = mkpool("a6", IA_110, "2001:db8::/64", &p, &c);
	CHECK(rv == 0 && p.id > 0 && p.first == 1 && p.next_index == p.first &&
		p.created_at == T0 && p.n_occupied == 0,
	    "create fills the id, the usable range, the cursor and the times");
	mkpool("b4", IA_110, "10.0.0.0/24", &p, &c);
	mkpool("c4", IA_111, "10.1.0.0/24", &p, &c);
	CHECK(pool_get(db, p.id, &q) == 0 && strcmp(q.name, "c4") == 0 && q.isd_as == IA_111 &&
		q.prefix.len == 24 && q.first == 1 && q.last == 254 && q.hold_seconds == 600 &&
		q.strategy == POOL_SEQUENTIAL && q.mode == POOL_MODE_IP,
	    "get returns the stored pool");
	CHECK_EQ_INT(pool_get(db, 999, &q), ERR_NOT_FOUND, "get of an unknown id");

	rv = mkpool("b4", IA_111, "10.2.0.0/24", &p, &c);
	CHECK(rv == ERR_CONFLICT && strcmp(c.field, "name") == 0 && strcmp(c.other, "b4") == 0,
	    "a taken name is a conflict naming the field");
	rv = mkpool("d4", IA_110, "10.0.0.128/25", &p, &c);
	CHECK(rv == ERR_CONFLICT && strcmp(c.field, "prefix") == 0 && strcmp(c.other, "b4") == 0,
	    "an overlapping prefix of the same ISD-AS is a conflict naming the other pool");
	CHECK(mkpool("d4", IA_111, "10.0.0.128/25", &p, &c) == 0,
	    "the same prefix in another ISD-AS is fine");

	CHECK(pool_list(db, 0, 2, v, &n) == 0 && n == 2 && strcmp(v[0].name, "a6") == 0 &&
		strcmp(v[1].name, "b4") == 0,
	    "list: the first page, by id");
	CHECK(pool_list(db, v[1].id, 4, v, &n) == 0 && n == 2 && strcmp(v[0].name, "c4") == 0 &&
		strcmp(v[1].name, "d4") == 0,
	    "list: the next page starts after the cursor");
	CHECK(pool_list(db, v[1].id, 4, v, &n) == 0 && n == 0, "list: past the end, nothing");

	CHECK(pool_list_ordered(db, 0, &all, &n) == 0 && n == 4 && strcmp(all[0].name, "b4") == 0 &&
		strcmp(all[1].name, "c4") == 0 && strcmp(all[2].name, "d4") == 0 &&
		strcmp(all[3].name, "a6") == 0,
	    "the allocator's order: IPv4 first, then by id");
	free(all);
	CHECK(pool_list_ordered(db, IA_111, &all, &n) == 0 && n == 2 &&
		strcmp(all[0].name, "c4") == 0 && strcmp(all[1].name, "d4") == 0,
	    "the allocator's order within one ISD-AS");
	free(all);
	CHECK(pool_list_ordered(db, 0x0002ff0000000001ULL, &all, &n) == 0 && n == 0,
	    "an ISD-AS without pools: none");
	free(all);
}

/* pool_update of name and/or hold time only. */
static int
update(int64_t id, const char *name, int64_t hold, int64_t now)
{
	struct pool_change ch = {.name = name, .hold_seconds = hold, .client_to_client = -1};

	return pool_update(db, id, &ch, now);
}

static void
test_gateway_settings(void)
{
	struct prefix routes[2];
	struct pool_conflict c;
	struct pool p, q;
	struct pool_change ch = {.hold_seconds = -1, .client_to_client = -1};
	struct pool_counts n;
	const char *why;
	char whybuf[64];
	struct addr a;
	uint64_t idx;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "gw");
	p.isd_as = IA_111;
	prefix_parse("10.9.0.0/29", &p.prefix, whybuf, sizeof(whybuf), &why);
	p.hold_seconds = 600;
	p.client_to_client = 1;
	p.has_gateway = 1;
	p.gateway = 1;
	prefix_parse("192.168.50.0/24", &p.routes[0], whybuf, sizeof(whybuf), &why);
	prefix_parse("0.0.0.0/0", &p.routes[1], whybuf, sizeof(whybuf), &why);
	p.n_routes = 2;
	CHECK(pool_create(db, &p, T0, &c) == 0 && pool_get(db, p.id, &q) == 0 && q.has_gateway &&
		q.gateway == 1 && q.n_routes == 2 && q.routes[1].len == 0 &&
		q.routes[0].len == 24 && q.client_to_client == 1,
	    "gateway, routes and client_to_client are stored");
	CHECK(pool_counts(db, &q, T0, &n) == 0 && n.size == 5 && n.free == 5,
	    "the gateway's address is counted out of size and free");
	ch.set_gateway = 1;
	ch.set_routes = 1;
	ch.routes = routes;
	ch.client_to_client = 0;
	CHECK(pool_update(db, p.id, &ch, T0 + 1) == 0 && pool_get(db, p.id, &q) == 0 &&
		!q.has_gateway && q.n_routes == 0 && q.client_to_client == 0 &&
		strcmp(q.name, "gw") == 0,
	    "gateway removed, routes emptied, client_to_client off");
	CHECK(pool_counts(db, &q, T0, &n) == 0 && n.size == 6, "without a gateway: all six");
	addr_parse("10.9.0.7", &a);
	CHECK(pool_gateway_check(&q, &a, &idx) != NULL, "the broadcast address is no gateway");
	addr_parse("10.9.0.6", &a);
	CHECK(pool_gateway_check(&q, &a, &idx) == NULL && idx == 6, "the last usable one is");
	addr_parse("10.9.1.1", &a);
	CHECK(pool_gateway_check(&q, &a, &idx) != NULL, "outside the prefix: refused");
	prefix_parse("127.0.0.0/24", &routes[0], whybuf, sizeof(whybuf), &why);
	CHECK(pool_route_check(&routes[0], 4) != NULL, "a loopback route is refused");
	prefix_parse("0.0.0.0/0", &routes[0], whybuf, sizeof(whybuf), &why);
	CHECK(pool_route_check(&routes[0], 4) == NULL, "a default route is fine");
	CHECK(pool_route_check(&routes[0], 6) != NULL, "an IPv4 route in an IPv6 pool is not");
	prefix_parse("fe80::/64", &routes[0], whybuf, sizeof(whybuf), &why);
	CHECK(pool_route_check(&routes[0], 6) != NULL, "an IPv6 link-local route is refused");
}

static void
test_update(void)
{
	struct pool_conflict c;
	struct pool p, q;

	mkpool("u", IA_110, "10.3.0.0/24", &p, &c);
	CHECK(update(p.id, "u2", -1, T0 + 5) == 0 && pool_get(db, p.id, &q) == 0 &&
		strcmp(q.name, "u2") == 0 && q.hold_seconds == 600 && q.updated_at == T0 + 5,
	    "rename keeps the hold time");
	CHECK(update(p.id, NULL, 30, T0 + 6) == 0 && pool_get(db, p.id, &q) == 0 &&
		strcmp(q.name, "u2") == 0 && q.hold_seconds == 30,
	    "a new hold time keeps the name");
	CHECK_EQ_INT(update(p.id, "b4", -1, T0), ERR_CONFLICT, "rename to a taken name");
	CHECK(update(p.id, "u2", -1, T0) == 0, "rename to its own name is fine");
	CHECK_EQ_INT(update(999, NULL, 5, T0), ERR_NOT_FOUND, "update of an unknown id");
}

static void
test_counts_and_occupied(void)
{
	struct pool_conflict c;
	struct pool_counts k;
	struct pool p;
	int64_t g1, g2, rid, lapsed, lapsed_reserved;
	uint64_t next = 5;

	mkpool("n", IA_110, "10.4.0.0/29", &p, &c);
	g1 = mkgrant(&p, 1, "n1");
	g2 = mkgrant(&p, 2, "n2");
	CHECK(g1 > 0 && g2 > 0, "two grants in pool n");
	reservation_add(db, p.id, 2, "10.4.0.2", "n2", T0, &rid);
	pool_adjust(db, p.id, 2, 0, 1, 2, &next);
	CHECK(pool_get(db, p.id, &p) == 0 && p.n_assigned == 2 && p.n_reserved == 1 &&
		p.n_occupied == 2 && p.next_index == 5,
	    "adjust moves the counters and the cursor");
	pool_adjust(db, p.id, -2, 2, 0, 0, NULL);
	grant_hold(db, g1, T0 + 10);
	grant_hold(db, g2, T0 + 10);
	CHECK(pool_get(db, p.id, &p) == 0 && p.next_index == 5 && p.n_held == 2,
	    "adjust without a cursor keeps it");
	CHECK(pool_count_lapsed(db, p.id, T0 + 9, &lapsed, &lapsed_reserved) == 0 && lapsed == 0,
	    "no hold lapsed before its end");
	CHECK(pool_count_lapsed(db, p.id, T0 + 10, &lapsed, &lapsed_reserved) == 0 && lapsed == 2 &&
		lapsed_reserved == 1,
	    "both holds lapsed, one of them on a reserved address");
	CHECK(pool_counts(db, &p, T0 + 10, &k) == 0 && k.size == 6 && k.assigned == 0 &&
		k.on_hold == 0 && k.reserved == 1 && k.free == 5,
	    "counts: a lapsed hold is free, unless its address is reserved");
	CHECK(pool_counts(db, &p, T0, &k) == 0 && k.on_hold == 2 && k.free == 4,
	    "counts before the holds lapse");

	CHECK_EQ_INT(pool_index_occupied(db, p.id, 1), 1, "an index with a grant is occupied");
	grant_delete(db, g2);
	CHECK_EQ_INT(pool_index_occupied(db, p.id, 2), 1, "a reserved index is occupied");
	CHECK_EQ_INT(pool_index_occupied(db, p.id, 3), 0, "a free index is not");
}

static void
test_freeaddr(void)
{
	struct pool_conflict c;
	struct pool p;
	uint64_t idx = 0;

	mkpool("f", IA_110, "10.5.0.0/24", &p, &c);
	CHECK_EQ_INT(freeaddr_lowest(db, p.id, &idx), ERR_NOT_FOUND, "a new pool lists nothing");
	CHECK(freeaddr_add(db, p.id, 7) == 0 && freeaddr_add(db, p.id, 3) == 0 &&
		freeaddr_add(db, p.id, 7) == 0,
	    "add, also twice");
	CHECK(freeaddr_lowest(db, p.id, &idx) == 0 && idx == 3, "the lowest comes first");
	CHECK(freeaddr_remove(db, p.id, 3) == 0 && freeaddr_lowest(db, p.id, &idx) == 0 && idx == 7,
	    "remove takes it off the list");
	CHECK(freeaddr_remove(db, p.id, 3) == 0, "removing an unlisted index is fine");
	CHECK(freeaddr_remove(db, p.id, 7) == 0 && freeaddr_lowest(db, p.id, &idx) == ERR_NOT_FOUND,
	    "and the list is empty again");
}

static void
test_delete(void)
{
	struct pool_conflict c;
	struct grant_event ev[4];
	struct grant g;
	struct pool p, q;
	int64_t released = -1, g1, g2, rid;
	uint64_t idx;
	int n;

	mkpool("x", IA_111, "10.6.0.0/24", &p, &c);
	g1 = mkgrant(&p, 1, "x1");
	g2 = mkgrant(&p, 2, "x2");
	grant_hold(db, g2, T0 - 1);
	reservation_add(db, p.id, 9, "10.6.0.9", "x9", T0, &rid);
	freeaddr_add(db, p.id, 4);
	CHECK(pool_delete(db, p.id, 0, "op", T0, &released) == ERR_CONFLICT && released == 1,
	    "a pool with a live grant is kept, counting it (a lapsed hold is not live)");
	CHECK(pool_get(db, p.id, &q) == 0, "and it is still there");
	CHECK(pool_delete(db, p.id, 1, "op", T0, &released) == 0 && released == 1,
	    "force deletes it");
	CHECK_EQ_INT(pool_get(db, p.id, &q), ERR_NOT_FOUND, "the pool is gone");
	CHECK(grant_get(db, g1, &g) == ERR_NOT_FOUND && grant_get(db, g2, &g) == ERR_NOT_FOUND,
	    "its grants are gone");
	CHECK(grant_history(db, g1, 0, 4, ev, &n) == 0 && n == 1 &&
		strcmp(ev[0].action, "release") == 0 && strcmp(ev[0].actor, "op") == 0,
	    "the live grant's history says released, by the caller");
	CHECK(grant_history(db, g2, 0, 4, ev, &n) == 0 && n == 1 &&
		strcmp(ev[0].action, "expire") == 0 && ev[0].hold_until == T0 - 1,
	    "the lapsed hold's history says expired");
	CHECK(reservation_at(db, p.id, 9, NULL) == 0 &&
		freeaddr_lowest(db, p.id, &idx) == ERR_NOT_FOUND,
	    "its reservations and reuse list went with it");
	CHECK_EQ_INT(
	    pool_delete(db, 999, 1, "op", T0, &released), ERR_NOT_FOUND, "delete of an unknown id");
}

int
main(void)
{
	char path[512];

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/store_pool.db", check_tmpdir());
	if (db_open(path, &db) < 0) {
		printf("not ok - cannot open %s\n", path);
		return 1;
	}
	test_names();
	test_create_get_list();
	test_update();
	test_gateway_settings();
	test_counts_and_occupied();
	test_freeaddr();
	test_delete();
	db_close(db);
	return check_done();
}
