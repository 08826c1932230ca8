/* The allocator against a real SQLite file: the rules of proto/README.md §1.3 and api.md
 * "Grants" — sticky addresses, holds, lapse without a sweep, fencing, reservations,
 * requested addresses, family order, exhaustion, IPv6 /64 pools. Time is passed in, so holds
 * are tested without sleeping. */
#include <stdio.h>
#include <string.h>

#include "../../db/db.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../manager/alloc.h"
#include "../../db/pool.h"
#include "../../proto/chan.h"
#include "check.h"

#define IA_110 0x0001ff0000000110ULL
#define IA_111 0x0001ff0000000111ULL
#define T0 1700000000

static struct db *db;
static int dbn;

static void
fresh_db(void)
{
	char path[512];

	db_close(db);
	snprintf(path, sizeof(path), "%s/alloc%d.db", check_tmpdir(), dbn++);
	if (db_open(path, &db) < 0) {
		printf("not ok - cannot open %s\n", path);
		return;
	}
}

static int64_t
mkpool_mode(const char *name, uint64_t ia, const char *prefix, int64_t hold,
    enum pool_strategy strategy, enum pool_mode mode)
{
	struct pool_conflict c;
	struct pool p = {0};
	const char *why;
	char whybuf[64];

	snprintf(p.name, sizeof(p.name), "%s", name);
	p.isd_as = ia;
	if (prefix_parse(prefix, &p.prefix, whybuf, sizeof(whybuf), &why) < 0)
		return -1;
	p.hold_seconds = hold;
	p.strategy = strategy;
	p.mode = mode;
	return pool_create(db, &p, T0, &c) == 0 ? p.id : -1;
}

static int64_t
mkpool(const char *name, uint64_t ia, const char *prefix, int64_t hold, enum pool_strategy strategy)
{
	return mkpool_mode(name, ia, prefix, hold, strategy, POOL_MODE_IP);
}

static int
acquire(const char *pssid, int family, const char *addr, int64_t session, int64_t now,
    struct grant *g, char *why)
{
	struct alloc_req r = {pssid, 0, family, NULL, session, 1, "test", 0, 0};
	struct addr a;

	if (addr != NULL) {
		addr_parse(addr, &a);
		r.addr = &a;
	}
	return alloc_acquire(db, &r, now, g, why, 200);
}

static struct pool_counts
counts(int64_t pool_id, int64_t now)
{
	struct pool_counts c = {0};
	struct pool p;

	if (pool_get(db, pool_id, &p) == 0)
		pool_counts(db, &p, now, &c);
	return c;
}

static void
test_sequential_and_exhaustion(void)
{
	struct grant g;
	char why[200], pssid[16];
	int64_t pool;
	int rv;

	fresh_db();
	pool = mkpool("edge", IA_110, "10.0.0.0/29", 600, POOL_SEQUENTIAL);
	CHECK(pool > 0, "pool 10.0.0.0/29 created");
	for (int i = 1; i <= 6; i++) {
		char want[16];
		snprintf(pssid, sizeof(pssid), "c%d", i);
		snprintf(want, sizeof(want), "10.0.0.%d", i);
		rv = acquire(pssid, 0, NULL, 1, T0, &g, why);
		CHECK(rv == 0 && strcmp(g.address, want) == 0, "sequential grant %d is %s (got %s)",
		    i, want, rv == 0 ? g.address : err_str(rv));
	}
	rv = acquire("c7", 0, NULL, 1, T0, &g, why);
	CHECK_EQ_INT(rv, ERR_POOL_EXHAUSTED, "7th client in a /29 finds the pool exhausted");
	CHECK(strstr(why, "\"edge\"") != NULL && strstr(why, "10.0.0.0/29") != NULL,
	    "exhaustion names the pool: %s", why);
	struct pool_counts c = counts(pool, T0);
	CHECK(c.size == 6 && c.assigned == 6 && c.free == 0 && c.on_hold == 0,
	    "counts: size 6, assigned 6, free 0");
}

static void
test_sticky_hold_reclaim(void)
{
	struct grant g, g2, h;
	char why[200];
	int64_t pool;
	int rv;

	fresh_db();
	pool = mkpool("p", IA_110, "10.1.0.0/30", 100, POOL_SEQUENTIAL);
	acquire("alice", 0, NULL, 1, T0, &g, why);
	rv = acquire("alice", 0, NULL, 2, T0 + 1, &g2, why);
	CHECK(rv == 0 && g2.id == g.id && strcmp(g2.address, g.address) == 0 && g2.session_id == 2,
	    "same pssid, new session: same grant and address");
	rv = alloc_hold(db, g.id, 2, "test", T0 + 10, &h);
	CHECK(rv == 0 && h.state == GRANT_ON_HOLD && h.hold_until == T0 + 110,
	    "hold sets on_hold until now + hold_seconds");
	struct pool_counts c = counts(pool, T0 + 10);
	CHECK(c.assigned == 0 && c.on_hold == 1 && c.free == 1, "counts while held");
	acquire("bob", 0, NULL, 1, T0 + 20, &g2, why);
	CHECK(strcmp(g2.address, g.address) != 0, "another pssid gets another address (%s)",
	    g2.address);
	rv = acquire("carol", 0, NULL, 1, T0 + 20, &g2, why);
	CHECK_EQ_INT(rv, ERR_POOL_EXHAUSTED, "a held address goes to nobody else before its end");
	rv = acquire("alice", 0, NULL, 3, T0 + 50, &g2, why);
	CHECK(rv == 0 && g2.id == g.id && g2.state == GRANT_ASSIGNED &&
		strcmp(g2.address, g.address) == 0,
	    "the same pssid reclaims its held address");
	c = counts(pool, T0 + 50);
	CHECK(c.assigned == 2 && c.on_hold == 0 && c.free == 0, "counts after reclaim");
}

static void
test_hold_lapse_without_sweep(void)
{
	struct grant g, g2;
	char why[200];
	int64_t pool;
	int rv;

	fresh_db();
	pool = mkpool("p", IA_110, "10.2.0.0/32", 10, POOL_SEQUENTIAL);
	acquire("alice", 0, NULL, 1, T0, &g, why);
	alloc_hold(db, g.id, 1, "test", T0, NULL);
	rv = acquire("bob", 0, NULL, 1, T0 + 9, &g2, why);
	CHECK_EQ_INT(rv, ERR_POOL_EXHAUSTED, "a hold keeps the address until hold_until");
	CHECK_EQ_INT(counts(pool, T0 + 10).free, 1, "a lapsed hold counts as free, unswept");
	rv = acquire("bob", 0, NULL, 1, T0 + 10, &g2, why);
	CHECK(rv == 0 && strcmp(g2.address, "10.2.0.0") == 0 && g2.id != g.id,
	    "after the hold lapses another pssid gets the address, no sweep needed");
	rv = acquire("alice", 0, NULL, 2, T0 + 12, &g2, why);
	CHECK_EQ_INT(rv, ERR_POOL_EXHAUSTED, "the old owner lost it");
	CHECK_EQ_INT(alloc_sweep(db, T0 + 12, 100), 0, "nothing left to sweep");
}

static void
test_fencing(void)
{
	struct grant g, g2;
	char why[200];
	int rv;

	fresh_db();
	mkpool("p", IA_110, "10.3.0.0/24", 600, POOL_SEQUENTIAL);
	acquire("alice", 0, NULL, 5, T0, &g, why);
	CHECK_EQ_INT(alloc_hold(db, g.id, 4, "test", T0, NULL), ERR_STALE_SESSION,
	    "an older session cannot hold a newer grant");
	CHECK_EQ_INT(alloc_release(db, g.id, 4, "test", T0), ERR_STALE_SESSION,
	    "an older session cannot release a newer grant");
	rv = acquire("alice", 0, NULL, 4, T0, &g2, why);
	CHECK_EQ_INT(rv, ERR_STALE_SESSION, "an older session cannot take over a live grant");
	CHECK_EQ_INT(alloc_hold(db, g.id, 5, "test", T0, NULL), 0, "the grant's own session holds");
	CHECK_EQ_INT(alloc_hold(db, g.id, 5, "test", T0, NULL), 0, "holding twice is a no-op");
	CHECK_EQ_INT(alloc_release(db, g.id, -1, "admin", T0), 0, "administrative release");
	CHECK_EQ_INT(alloc_release(db, g.id, -1, "admin", T0), ERR_NOT_FOUND, "released is gone");
}

static void
test_release_reuses_lowest(void)
{
	struct grant g[5], n;
	char why[200], pssid[8];

	fresh_db();
	mkpool("p", IA_110, "10.4.0.0/24", 0, POOL_SEQUENTIAL);
	for (int i = 0; i < 5; i++) {
		snprintf(pssid, sizeof(pssid), "c%d", i);
		acquire(pssid, 0, NULL, 1, T0, &g[i], why);
	}
	alloc_release(db, g[3].id, 1, "test", T0);
	alloc_hold(db, g[1].id, 1, "test", T0, NULL); /* hold_seconds 0: released at once */
	acquire("x", 0, NULL, 1, T0, &n, why);
	CHECK(strcmp(n.address, "10.4.0.2") == 0, "the lowest released address comes first (%s)",
	    n.address);
	acquire("y", 0, NULL, 1, T0, &n, why);
	CHECK(strcmp(n.address, "10.4.0.4") == 0, "then the next released one (%s)", n.address);
	acquire("z", 0, NULL, 1, T0, &n, why);
	CHECK(strcmp(n.address, "10.4.0.6") == 0, "then the cursor goes on (%s)", n.address);
}

static void
test_requested_and_reserved(void)
{
	struct grant g;
	struct addr a;
	const char *field;
	char why[200];
	int64_t pool, rid;
	int rv;

	fresh_db();
	pool = mkpool("p", IA_110, "10.5.0.0/29", 600, POOL_SEQUENTIAL);
	addr_parse("10.5.0.1", &a);
	rv = alloc_reserve(db, pool, "resv", &a, "test", T0, &rid, &field, why, sizeof(why));
	CHECK(rv == 0, "reserve 10.5.0.1 for resv");
	rv = alloc_reserve(db, pool, "other", &a, "test", T0, &rid, &field, why, sizeof(why));
	CHECK_EQ_INT(rv, ERR_CONFLICT, "an address is reserved once");
	acquire("a", 0, NULL, 1, T0, &g, why);
	CHECK(strcmp(g.address, "10.5.0.2") == 0,
	    "sequential allocation skips the reserved "
	    "address (%s)",
	    g.address);
	rv = acquire("b", 0, "10.5.0.1", 1, T0, &g, why);
	CHECK_EQ_INT(rv, ERR_ADDR_TAKEN, "nobody else may request a reserved address");
	rv = acquire("b", 0, "10.5.0.4", 1, T0, &g, why);
	CHECK(rv == 0 && strcmp(g.address, "10.5.0.4") == 0, "a free requested address is granted");
	rv = acquire("c", 0, "10.5.0.4", 1, T0, &g, why);
	CHECK_EQ_INT(rv, ERR_ADDR_TAKEN, "a requested address of another pssid is refused");
	rv = acquire("c", 0, "10.9.9.9", 1, T0, &g, why);
	CHECK_EQ_INT(rv, ERR_ADDR_NOT_IN_POOL, "an address in no pool is refused");
	rv = acquire("c", 0, "10.5.0.7", 1, T0, &g, why);
	CHECK_EQ_INT(rv, ERR_ADDR_NOT_IN_POOL, "the broadcast address is not assignable");
	acquire("c", 0, NULL, 1, T0, &g, why);
	CHECK(strcmp(g.address, "10.5.0.3") == 0,
	    "the cursor skips what was taken out of order "
	    "(%s)",
	    g.address);
	acquire("d", 0, NULL, 1, T0, &g, why);
	CHECK(
	    strcmp(g.address, "10.5.0.5") == 0, "and goes past the requested one (%s)", g.address);
	acquire("resv", 0, NULL, 1, T0, &g, why);
	CHECK(strcmp(g.address, "10.5.0.1") == 0, "the reserved pssid gets its address");
	struct pool_counts c = counts(pool, T0);
	CHECK(c.assigned == 5 && c.reserved == 1 && c.free == 1,
	    "counts with a reservation "
	    "(assigned %llu reserved %llu free %llu)",
	    (unsigned long long)c.assigned, (unsigned long long)c.reserved,
	    (unsigned long long)c.free);
	rv = alloc_unreserve(db, pool, &a);
	CHECK(rv == 0 && counts(pool, T0).free == 1, "unreserving a granted address frees nothing");

	/* A pssid with a grant elsewhere moves to its reservation. */
	addr_parse("10.5.0.6", &a);
	acquire("mover", 0, NULL, 1, T0, &g, why);
	CHECK(strcmp(g.address, "10.5.0.6") == 0, "mover gets the last address");
	alloc_release(db, g.id, 1, "test", T0);
	addr_parse("10.5.0.2", &a);
	rv = alloc_reserve(db, pool, "mover", &a, "test", T0, &rid, &field, why, sizeof(why));
	CHECK_EQ_INT(rv, ERR_ADDR_TAKEN, "reserving an address granted to another is refused");
}

static void
test_reservation_wins_over_grant(void)
{
	struct grant g;
	struct addr a;
	const char *field;
	char why[200];
	int64_t pool, rid;

	fresh_db();
	pool = mkpool("p", IA_110, "10.6.0.0/24", 600, POOL_SEQUENTIAL);
	acquire("m", 0, NULL, 1, T0, &g, why);
	alloc_hold(db, g.id, 1, "test", T0, NULL);
	addr_parse("10.6.0.200", &a);
	alloc_reserve(db, pool, "m", &a, "test", T0, &rid, &field, why, sizeof(why));
	acquire("m", 0, NULL, 2, T0 + 1, &g, why);
	CHECK(strcmp(g.address, "10.6.0.200") == 0, "a reservation wins over an older hold (%s)",
	    g.address);
	struct pool_counts c = counts(pool, T0 + 1);
	CHECK(c.assigned == 1 && c.on_hold == 0 && c.reserved == 1 && c.free == 253,
	    "the old hold was released (free %llu)", (unsigned long long)c.free);
}

static void
test_families_and_isd_as(void)
{
	struct alloc_req r = {"x", IA_111, 0, NULL, 1, 1, "test", 0, 0};
	struct grant g;
	char why[200];
	int64_t v4, v6;
	int rv;

	fresh_db();
	v6 = mkpool("v6", IA_110, "2001:db8::/64", 600, POOL_RANDOM);
	v4 = mkpool("v4", IA_110, "192.0.2.0/31", 600, POOL_SEQUENTIAL);
	CHECK(v4 > 0 && v6 > 0, "v4 /31 and v6 /64 pools");
	acquire("a", 0, NULL, 1, T0, &g, why);
	CHECK(strcmp(g.address, "192.0.2.0") == 0,
	    "an empty request tries IPv4 first; /31 uses "
	    "both addresses (%s)",
	    g.address);
	acquire("b", 0, NULL, 1, T0, &g, why);
	CHECK(strcmp(g.address, "192.0.2.1") == 0, "second address of the /31 (%s)", g.address);
	acquire("c", 0, NULL, 1, T0, &g, why);
	CHECK(strncmp(g.address, "2001:db8::", 10) == 0 && g.pool_id == v6,
	    "then IPv6 when IPv4 is exhausted (%s)", g.address);
	rv = acquire("d", 4, NULL, 1, T0, &g, why);
	CHECK(rv == ERR_POOL_EXHAUSTED && strstr(why, "\"v4\"") != NULL,
	    "family 4 only: exhausted, naming the v4 pool (%s)", why);
	rv = acquire("d", 6, NULL, 1, T0, &g, why);
	CHECK(rv == 0 && g.pool_id == v6, "family 6 goes to the v6 pool");
	rv = alloc_acquire(db, &r, T0, &g, why, sizeof(why));
	CHECK(rv == ERR_NO_POOL && strstr(why, "1-ff00:0:111") != NULL,
	    "an ISD-AS without pools: no pool (%s)", why);
	r.pssid = "bad pssid with spaces";
	r.isd_as = 0;
	CHECK_EQ_INT(alloc_acquire(db, &r, T0, &g, why, sizeof(why)), ERR_INVALID,
	    "an invalid pssid is refused");
}

/* A client's join token names a pool: its grants come from that pool alone. */
static void
test_pool_binding(void)
{
	struct alloc_req r = {"p", 0, 4, NULL, 1, 1, "test", 0, 0};
	struct grant g;
	struct addr a;
	char why[200];
	int64_t p1, p2;

	fresh_db();
	p1 = mkpool("one", IA_110, "192.0.2.0/30", 600, POOL_SEQUENTIAL);
	p2 = mkpool("two", IA_110, "198.51.100.0/31", 600, POOL_SEQUENTIAL);
	CHECK(p1 > 0 && p2 > 0, "two IPv4 pools of one ISD-AS");
	r.pool_id = p2;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == p2,
	    "a request bound to pool %lld gets its address there though pool %lld matches first "
	    "(%s)",
	    (long long)p2, (long long)p1, g.address);
	r.pssid = "q";
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == p2,
	    "a second one too (%s)", g.address);
	r.pssid = "r";
	CHECK_EQ_INT(alloc_acquire(db, &r, T0, &g, why, sizeof(why)), ERR_POOL_EXHAUSTED,
	    "the bound pool exhausted: refused, the other pool is not used");
	CHECK(strstr(why, "\"two\"") != NULL && strstr(why, "\"one\"") == NULL,
	    "the reason names the bound pool only (%s)", why);
	addr_parse("192.0.2.1", &a);
	r.addr = &a;
	CHECK_EQ_INT(alloc_acquire(db, &r, T0, &g, why, sizeof(why)), ERR_ADDR_NOT_IN_POOL,
	    "an address of another pool is not granted to a bound request (%s)", why);
	r.addr = NULL;
	r.pool_id = 999;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == ERR_NO_POOL &&
		strstr(why, "pool 999") != NULL,
	    "a bound pool that is gone: no pool, naming it (%s)", why);
}

/* The agent's modes (AllocReq.modes) and the preference of a request that says nothing of
 * where for an ip pool. */
static void
test_modes(void)
{
	struct alloc_req r = {"m1", 0, 4, NULL, 1, 1, "test", 0, 0};
	struct grant g;
	struct addr a;
	char why[200];
	int64_t sci, ip, sci2;

	fresh_db();
	sci = mkpool_mode("sci", IA_110, "10.88.0.0/29", 600, POOL_SEQUENTIAL, POOL_MODE_SCION);
	ip = mkpool("ip", IA_110, "192.0.2.0/31", 600, POOL_SEQUENTIAL);
	CHECK(sci > 0 && ip > 0, "a scion pool, then an ip pool (the scion one first in order)");

	r.modes = CHAN_MODE_IP | CHAN_MODE_SCION;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == ip,
	    "an agent forwarding both, a request naming nothing: the ip pool (%s)", g.address);
	r.pssid = "m2";
	r.modes = 0;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == ip,
	    "an agent that does not say its modes: the ip pool too (%s)", g.address);
	r.pssid = "m3";
	r.modes = CHAN_MODE_IP | CHAN_MODE_SCION;
	CHECK_EQ_INT(alloc_acquire(db, &r, T0, &g, why, sizeof(why)), ERR_POOL_EXHAUSTED,
	    "the ip pool exhausted: refused, no scion address to an endhost that may not know "
	    "SCION (%s)",
	    why);
	r.isd_as = IA_110;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == sci,
	    "a request naming the ISD-AS: the pools in their order, the scion one (%s)", g.address);
	r.isd_as = 0;
	r.pssid = "m4";
	r.pool_id = sci;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == sci,
	    "a request bound to the scion pool: there (%s)", g.address);

	r.pssid = "m5";
	r.pool_id = 0;
	r.isd_as = IA_110;
	r.modes = CHAN_MODE_IP;
	CHECK_EQ_INT(alloc_acquire(db, &r, T0, &g, why, sizeof(why)), ERR_POOL_EXHAUSTED,
	    "an agent forwarding ip only: the scion pool is never used, though it has room (%s)",
	    why);
	CHECK(strstr(why, "\"sci\"") == NULL, "the reason does not name the scion pool (%s)", why);
	r.pool_id = sci;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == ERR_NO_POOL &&
		strstr(why, "ip mode") != NULL,
	    "bound to the scion pool on an ip-only agent: no pool, saying ip mode (%s)", why);
	r.pool_id = 0;
	addr_parse("10.88.0.5", &a);
	r.addr = &a;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == ERR_ADDR_NOT_IN_POOL &&
		strstr(why, "pool \"sci\", in scion mode, which this agent does not forward") !=
		    NULL,
	    "an address of the scion pool asked on an ip-only agent: refused, saying why (%s)",
	    why);
	r.modes = CHAN_MODE_SCION;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == sci,
	    "the same on an agent forwarding scion: granted (%s)", g.address);

	/* the grant of m1 (ip pool) comes back to it on an ip-only agent; m4's scion grant does
	 * not: it moves to an ip address when one is free */
	r.addr = NULL;
	r.isd_as = 0;
	r.pssid = "m1";
	r.session_id = 2;
	r.modes = CHAN_MODE_IP;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == ip,
	    "m1 reconnecting through an ip-only agent gets its ip address back (%s)", g.address);
	sci2 = mkpool_mode("sci2", IA_110, "10.89.0.0/30", 600, POOL_SEQUENTIAL, POOL_MODE_SCION);
	r.pssid = "m6";
	r.modes = 8; /* a mode this manager does not know */
	CHECK(sci2 > 0 && alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == ERR_NO_POOL,
	    "an agent forwarding only a mode unknown here: no pool (%s)", why);

	/* the agent asks for IPv4, then IPv6: an ip pool of the other family keeps a scion pool
	 * of the asked one out */
	fresh_db();
	sci = mkpool_mode("sci4", IA_110, "10.88.0.0/29", 600, POOL_SEQUENTIAL, POOL_MODE_SCION);
	ip = mkpool("ip6", IA_110, "2001:db8:1::/64", 600, POOL_SEQUENTIAL);
	r = (struct alloc_req){"x1", 0, 4, NULL, 1, 1, "test", 0, CHAN_MODE_IP | CHAN_MODE_SCION};
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == ERR_NO_POOL &&
		strstr(why, "scion mode serves a client bound to it") != NULL,
	    "a scion IPv4 pool and an ip IPv6 pool: the IPv4 request finds no pool, saying why "
	    "(%s)",
	    why);
	r.family = 6;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == ip,
	    "and the IPv6 request that follows gets the ip pool's address (%s)", g.address);
	r.pssid = "x2";
	r.family = 0;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == ip,
	    "a request of either family: the ip IPv6 pool, not the scion IPv4 one (%s)", g.address);
	fresh_db();
	ip = mkpool("ip4", IA_110, "192.0.2.0/32", 600, POOL_SEQUENTIAL);
	sci = mkpool_mode("sci6", IA_110, "2001:db8:2::/64", 600, POOL_SEQUENTIAL, POOL_MODE_SCION);
	r = (struct alloc_req){"y1", 0, 4, NULL, 1, 1, "test", 0, CHAN_MODE_IP | CHAN_MODE_SCION};
	CHECK(ip > 0 && sci > 0 && alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0,
	    "an ip IPv4 pool of one address: taken (%s)", g.address);
	r.pssid = "y2";
	CHECK_EQ_INT(alloc_acquire(db, &r, T0, &g, why, sizeof(why)), ERR_POOL_EXHAUSTED,
	    "the next IPv4 request: exhausted (%s)", why);
	r.family = 6;
	CHECK_EQ_INT(alloc_acquire(db, &r, T0, &g, why, sizeof(why)), ERR_NO_POOL,
	    "its IPv6 retry does not fall into the scion IPv6 pool (%s)", why);
	r.isd_as = IA_110;
	CHECK(alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0 && g.pool_id == sci,
	    "naming the ISD-AS, it does (%s)", g.address);
}

static void
test_random_v6(void)
{
	struct pool p;
	struct grant g;
	struct addr a;
	char why[200], pssid[16], seen[200][ADDR_STRLEN];
	uint64_t idx;
	int ok = 1, unique = 1;
	int64_t pool;

	fresh_db();
	pool = mkpool("v6", IA_110, "2001:db8:1::/64", 600, POOL_RANDOM);
	pool_get(db, pool, &p);
	for (int i = 0; i < 200; i++) {
		snprintf(pssid, sizeof(pssid), "r%d", i);
		if (acquire(pssid, 6, NULL, 1, T0, &g, why) != 0 || addr_parse(g.address, &a) < 0 ||
		    prefix_index_of(&p.prefix, &a, &idx) < 0 || idx == 0)
			ok = 0;
		snprintf(seen[i], sizeof(seen[i]), "%s", g.address);
		for (int j = 0; j < i; j++)
			if (strcmp(seen[j], seen[i]) == 0)
				unique = 0;
	}
	CHECK(ok, "200 random grants in a /64 are inside it and never the anycast index 0");
	CHECK(unique, "random grants are distinct");
	/* a small random pool fills up completely through probes and the walk */
	pool = mkpool("tiny", IA_111, "10.7.0.0/29", 600, POOL_RANDOM);
	struct alloc_req r = {NULL, IA_111, 4, NULL, 1, 1, "test", 0, 0};
	int got = 0;
	for (int i = 0; i < 7; i++) {
		snprintf(pssid, sizeof(pssid), "t%d", i);
		r.pssid = pssid;
		if (alloc_acquire(db, &r, T0, &g, why, sizeof(why)) == 0)
			got++;
	}
	CHECK_EQ_INT(got, 6, "a random /29 hands out exactly its 6 addresses");
}

static void
test_sweep_and_delete(void)
{
	struct grant g;
	char why[200], pssid[8];
	int64_t pool, released;

	fresh_db();
	pool = mkpool("p", IA_110, "10.8.0.0/24", 5, POOL_SEQUENTIAL);
	for (int i = 0; i < 4; i++) {
		snprintf(pssid, sizeof(pssid), "s%d", i);
		acquire(pssid, 0, NULL, 1, T0, &g, why);
		if (i < 3)
			alloc_hold(db, g.id, 1, "test", T0, NULL);
	}
	CHECK_EQ_INT(alloc_sweep(db, T0 + 4, 100), 0, "holds are not swept before they lapse");
	CHECK_EQ_INT(alloc_sweep(db, T0 + 6, 2), 2, "the sweep takes at most its batch");
	CHECK_EQ_INT(alloc_sweep(db, T0 + 6, 100), 1, "and the rest next time");
	struct pool_counts c = counts(pool, T0 + 6);
	CHECK(c.assigned == 1 && c.on_hold == 0 && c.free == 253, "counts after the sweep");
	acquire("new", 0, NULL, 1, T0 + 7, &g, why);
	CHECK(strcmp(g.address, "10.0.0.1") != 0 && strcmp(g.address, "10.8.0.1") == 0,
	    "swept addresses are reused lowest first (%s)", g.address);
	CHECK_EQ_INT(pool_delete(db, pool, 0, "test", T0 + 7, &released), ERR_CONFLICT,
	    "a pool with live grants is not deleted");
	CHECK(pool_delete(db, pool, 1, "test", T0 + 7, &released) == 0 && released == 2,
	    "force deletes it, releasing its 2 grants");
}

static void
test_reopen_keeps_state(void)
{
	struct grant g, g2;
	char why[200], path[512];

	fresh_db();
	mkpool("p", IA_110, "10.9.0.0/24", 600, POOL_SEQUENTIAL);
	acquire("keep", 0, NULL, 1, T0, &g, why);
	alloc_hold(db, g.id, 1, "test", T0, NULL);
	db_close(db);
	snprintf(path, sizeof(path), "%s/alloc%d.db", check_tmpdir(), dbn - 1);
	db = NULL;
	CHECK(db_open(path, &db) == 0, "reopen the database");
	CHECK(acquire("keep", 0, NULL, 2, T0 + 1, &g2, why) == 0 &&
		strcmp(g2.address, g.address) == 0,
	    "a hold survives a restart");
}

/* The state channel commits many allocations at once: a refused one costs the others nothing. */
static void
test_group_commit(void)
{
	struct grant g;
	char why[200];
	int64_t pool;
	int a, b, c;

	fresh_db();
	pool = mkpool("p", IA_110, "10.10.0.0/31", 600, POOL_SEQUENTIAL);
	db_begin(db);
	a = acquire("a", 0, NULL, 1, T0, &g, why);
	b = acquire("b", 0, "10.10.0.0", 1, T0, &g, why);
	c = acquire("c", 0, NULL, 1, T0, &g, why);
	CHECK(a == 0 && b == ERR_ADDR_TAKEN && c == 0, "in one batch: granted, refused, granted");
	CHECK(db_commit(db) == 0, "the batch commits");
	struct pool_counts n = counts(pool, T0);
	CHECK(n.assigned == 2 && n.free == 0, "both grants of the batch are stored");
}

/* The one check of a request (the state channel calls it too), with reasons for the user. */
static void
test_request_check(void)
{
	struct alloc_req r = {"ok", 0, 0, NULL, 1, 1, "test", 0, 0};
	struct grant g;
	struct addr a6;
	char why[200];
	int rv;

	CHECK_EQ_INT(alloc_req_check(&r, why, sizeof(why)), 0, "a plain request passes");
	r.pssid = NULL;
	rv = alloc_req_check(&r, why, sizeof(why));
	CHECK(rv == ERR_INVALID && strcmp(why, "invalid pssid") == 0, "no pssid: \"%s\"", why);
	r.pssid = "ok";
	r.family = 5;
	rv = alloc_req_check(&r, why, sizeof(why));
	CHECK(rv == ERR_INVALID && strcmp(why, "family 5 is not 4 or 6") == 0, "family 5: \"%s\"",
	    why);
	r.family = 4;
	addr_parse("2001:db8::1", &a6);
	r.addr = &a6;
	rv = alloc_req_check(&r, why, sizeof(why));
	CHECK(rv == ERR_INVALID && strstr(why, "family does not match") != NULL,
	    "an IPv6 address asked as IPv4: \"%s\"", why);
	r.family = 6;
	CHECK_EQ_INT(alloc_req_check(&r, why, sizeof(why)), 0, "the same address asked as IPv6");
	r.session_id = 0;
	rv = alloc_req_check(&r, why, sizeof(why));
	CHECK(rv == ERR_INVALID && strcmp(why, "session id 0 is out of range") == 0,
	    "session id 0: \"%s\"", why);
	r.session_id = (int64_t)(UINT64_C(1) << 63);
	rv = alloc_req_check(&r, why, sizeof(why));
	CHECK(
	    rv == ERR_INVALID && strcmp(why, "session id 9223372036854775808 is out of range") == 0,
	    "a session id past INT64_MAX reads as sent: \"%s\"", why);
	fresh_db();
	mkpool("p", IA_110, "10.11.0.0/24", 600, POOL_SEQUENTIAL);
	CHECK_EQ_INT(acquire("zero", 0, NULL, 0, T0, &g, why), ERR_INVALID,
	    "alloc_acquire refuses session id 0 itself");
}

/* Whether a grant still belongs to a session: the reconcile of an agent's sessions. */
/* Set pool's gateway to addr (NULL: none) through the allocator, as PATCH does. */
static int
set_gateway(int64_t pool, const char *addr, int64_t now, const char **field)
{
	struct pool_change ch = {.hold_seconds = -1, .client_to_client = -1, .set_gateway = 1};
	char why[200];
	struct addr a;
	struct pool p;

	if (addr != NULL) {
		if (pool_get(db, pool, &p) < 0 || addr_parse(addr, &a) < 0 ||
		    pool_gateway_check(&p, &a, &ch.gateway) != NULL)
			return ERR_INVALID;
		ch.has_gateway = 1;
	}
	return alloc_pool_update(db, pool, &ch, "test", now, field, why, sizeof(why));
}

static void
test_gateway_never_granted(void)
{
	const char *field = NULL, *why2;
	char why[200], pssid[16], seen[8] = {0};
	struct grant g;
	struct addr a;
	int64_t pool, id;
	int rv, ok = 1;

	fresh_db();
	pool = mkpool("gw", IA_110, "10.0.0.0/29", 600, POOL_SEQUENTIAL);
	CHECK_EQ_INT(set_gateway(pool, "10.0.0.1", T0, &field), 0, "gateway 10.0.0.1 set");
	CHECK(counts(pool, T0).size == 5 && counts(pool, T0).free == 5,
	    "the gateway is out of size and free");
	for (int i = 1; i <= 5; i++) {
		char want[16];

		snprintf(pssid, sizeof(pssid), "s%d", i);
		snprintf(want, sizeof(want), "10.0.0.%d", i + 1);
		if (acquire(pssid, 4, NULL, 1, T0, &g, why) != 0 || strcmp(g.address, want) != 0)
			ok = 0;
	}
	CHECK(ok, "sequential: 10.0.0.2 to .6 granted, the gateway skipped");
	CHECK_EQ_INT(acquire("s6", 4, NULL, 1, T0, &g, why), ERR_POOL_EXHAUSTED,
	    "then the pool is exhausted: the gateway is not handed out");
	CHECK_EQ_INT(acquire("s6", 4, "10.0.0.1", 1, T0, &g, why), ERR_ADDR_TAKEN,
	    "asking for the gateway's address is refused as reserved for another");
	addr_parse("10.0.0.1", &a);
	rv = alloc_reserve(db, pool, "s6", &a, "test", T0, &id, &why2, why, sizeof(why));
	CHECK_EQ_INT(rv, ERR_CONFLICT, "the gateway's address cannot be reserved");
	CHECK(set_gateway(pool, "10.0.0.3", T0, &field) == ERR_CONFLICT &&
		strcmp(field, "gateway") == 0,
	    "moving the gateway onto an assigned address: conflict on gateway");
	CHECK(acquire("s1", 4, NULL, 1, T0, &g, why) == 0 &&
		alloc_hold(db, g.id, 1, "test", T0, NULL) == 0,
	    "s1's 10.0.0.2 goes on hold");
	CHECK_EQ_INT(set_gateway(pool, "10.0.0.2", T0 + 1, &field), ERR_CONFLICT,
	    "moving the gateway onto an address on hold: conflict");
	CHECK_EQ_INT(set_gateway(pool, "10.0.0.2", T0 + 601, &field), 0,
	    "onto a lapsed hold: it is expired and the gateway moves");
	CHECK(
	    acquire("s7", 4, NULL, 1, T0 + 601, &g, why) == 0 && strcmp(g.address, "10.0.0.1") == 0,
	    "the old gateway's address is free again");
	CHECK_EQ_INT(acquire("s8", 4, NULL, 1, T0 + 601, &g, why), ERR_POOL_EXHAUSTED,
	    "the new gateway's address is never handed out");

	fresh_db();
	pool = mkpool("gwr", IA_110, "10.0.1.0/29", 600, POOL_RANDOM);
	set_gateway(pool, "10.0.1.4", T0, &field);
	ok = 1;
	for (int i = 1; i <= 5; i++) {
		snprintf(pssid, sizeof(pssid), "r%d", i);
		if (acquire(pssid, 4, NULL, 1, T0, &g, why) != 0 ||
		    strcmp(g.address, "10.0.1.4") == 0 || seen[g.address[7] - '0']++)
			ok = 0;
	}
	CHECK(ok, "random: five distinct addresses, none the gateway's");
	CHECK_EQ_INT(
	    acquire("r6", 4, NULL, 1, T0, &g, why), ERR_POOL_EXHAUSTED, "random: then exhausted");
	CHECK_EQ_INT(set_gateway(pool, NULL, T0, &field), 0, "the gateway removed");
	CHECK(acquire("r6", 4, NULL, 1, T0, &g, why) == 0 && strcmp(g.address, "10.0.1.4") == 0,
	    "random: its address is granted once it is no gateway");
}

static void
test_session_owns(void)
{
	struct alloc_req r = {"own", 0, 0, NULL, 5, 1, "test", 0, 0};
	struct grant g, g2;
	char why[200];

	fresh_db();
	mkpool("p", IA_110, "10.12.0.0/24", 600, POOL_SEQUENTIAL);
	alloc_acquire(db, &r, T0, &g, why, sizeof(why));
	CHECK_EQ_INT(alloc_session_owns(db, g.id, 1, 5), ALLOC_OWNED,
	    "the grant's own session of its agent owns it");
	CHECK_EQ_INT(alloc_session_owns(db, g.id, 2, 5), ALLOC_GONE,
	    "the same session id on another agent does not");
	CHECK_EQ_INT(alloc_session_owns(db, g.id, 1, 4), ALLOC_MOVED,
	    "an older session lost it to the grant's session");
	CHECK_EQ_INT(
	    alloc_session_owns(db, g.id, 1, -1), ALLOC_MOVED, "a negative id owns nothing");
	r.session_id = 6;
	r.agent_id = 2;
	alloc_acquire(db, &r, T0 + 1, &g2, why, sizeof(why));
	CHECK(g2.id == g.id && alloc_session_owns(db, g.id, 1, 5) == ALLOC_MOVED &&
		alloc_session_owns(db, g.id, 2, 6) == ALLOC_OWNED,
	    "a reconnect on another agent moves the grant to the new session");
	alloc_hold(db, g.id, 6, "test", T0 + 2, NULL);
	CHECK_EQ_INT(alloc_session_owns(db, g.id, 2, 6), ALLOC_GONE, "a held grant is gone");
	alloc_release(db, g.id, -1, "test", T0 + 3);
	CHECK_EQ_INT(alloc_session_owns(db, g.id, 2, 6), ALLOC_GONE, "a released grant is gone");
}

int
main(void)
{
	log_set_level(LOG_WARN);
	test_sequential_and_exhaustion();
	test_sticky_hold_reclaim();
	test_hold_lapse_without_sweep();
	test_fencing();
	test_release_reuses_lowest();
	test_requested_and_reserved();
	test_reservation_wins_over_grant();
	test_families_and_isd_as();
	test_pool_binding();
	test_modes();
	test_random_v6();
	test_sweep_and_delete();
	test_reopen_keeps_state();
	test_group_commit();
	test_request_check();
	test_session_owns();
	test_gateway_never_granted();
	db_close(db);
	return check_done();
}
