/* Address pools: the model, its store and its occupancy counts. The counters in a pool's record
 * are kept by the allocator (manager/alloc.c) in the same transaction as the grants they count,
 * so reading a pool never scans its grants. */
#ifndef DB_POOL_H
#define DB_POOL_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/text.h"

struct db;

#define POOL_NAME_MAX 64
#define POOL_HOLD_MAX (30 * 86400)
#define POOL_HOLD_DEFAULT 600
#define POOL_ROUTES_MAX 64

enum pool_strategy { POOL_SEQUENTIAL, POOL_RANDOM };
enum pool_mode { POOL_MODE_IP, POOL_MODE_SCION };

struct pool {
	int64_t id;
	char name[TEXT_NAME_BYTES(POOL_NAME_MAX) + 1];
	uint64_t isd_as;
	struct prefix prefix;
	uint64_t first, last; /* usable host indexes, inclusive */
	int64_t hold_seconds;
	enum pool_strategy strategy;
	enum pool_mode mode;
	uint64_t next_index; /* sequential cursor */
	int64_t n_assigned, n_held, n_reserved, n_occupied;
	int64_t created_at, updated_at;
	/* The gateway's own address (host index gateway, when has_gateway): never granted, so
	 * left out of the counts like an address reserved for nobody. */
	int has_gateway;
	uint64_t gateway;
	/* Prefixes of the pool's family reachable behind the gateway (canonical, no duplicates). */
	int n_routes;
	struct prefix routes[POOL_ROUTES_MAX];
	int client_to_client; /* clients of the pool may reach each other through the gateway */
};

/* What pool_update changes; the members that say "unchanged" leave the pool's value. */
struct pool_change {
	const char *name; /* NULL: unchanged */
	int64_t hold_seconds; /* < 0: unchanged */
	int set_gateway; /* has_gateway and gateway replace the pool's */
	int has_gateway;
	uint64_t gateway;
	int set_routes; /* routes[0..n_routes) replace the pool's */
	int n_routes;
	const struct prefix *routes;
	int client_to_client; /* < 0: unchanged */
};

/* Occupancy at a given time: lapsed holds count as free. */
struct pool_counts {
	uint64_t size, assigned, on_hold, reserved, free;
};

/* Why pool_create refused: the field at fault and the pool it collides with. */
struct pool_conflict {
	const char *field;
	char other[TEXT_NAME_BYTES(POOL_NAME_MAX) + 1];
};

const char *pool_strategy_str(enum pool_strategy s);
int pool_strategy_parse(const char *s, enum pool_strategy *out);
const char *pool_mode_str(enum pool_mode m);
int pool_mode_parse(const char *s, enum pool_mode *out);
int pool_name_valid(const char *s);

/* Validate a prefix for use as a pool: at most 64 host bits, no special-use addresses
 * (prefix_special_use). NULL or the reason. */
const char *pool_prefix_check(const struct prefix *p);

/* How many addresses of p the allocator may grant: its usable indexes but the gateway's. */
uint64_t pool_capacity(const struct pool *p);

/* NULL when a is an address p may give its gateway (a usable index of the prefix: *idx is
 * set), else why not. */
const char *pool_gateway_check(const struct pool *p, const struct addr *a, uint64_t *idx);

/* NULL when r may be a route of a pool of family (4 or 6), else why not: another family, or
 * inside loopback, link-local or multicast space (a default route is fine). */
const char *pool_route_check(const struct prefix *r, int family);

/* Insert p (name, isd_as, prefix, hold_seconds, strategy, mode, gateway, routes and
 * client_to_client set by the caller); fills the rest. 0, ERR_CONFLICT (name taken, or prefix overlapping a pool of the same ISD-AS: *c says
 * which), ERR_DB. */
int pool_create(struct db *db, struct pool *p, int64_t now, struct pool_conflict *c);

/* 0, ERR_NOT_FOUND or ERR_DB. */
int pool_get(struct db *db, int64_t id, struct pool *p);

/* Up to limit pools with id > after, by id, into out; *n is set. 0 or ERR_DB. */
int pool_list(struct db *db, int64_t after, int limit, struct pool *out, int *n);

/* Lock pool id's row until the transaction ends, for a change of what it holds (grants,
 * reservations, its gateway, its cursor): on PostgreSQL another manager's change of the same
 * pool waits for this transaction, then sees its result; on SQLite the write transaction is
 * the lock already. The locked pool is read into p (the latest version). 0, ERR_NOT_FOUND, or
 * ERR_BUSY when the lock was not had in time. */
int pool_get_locked(struct db *db, int64_t id, struct pool *p);

/* The same for every pool of isd_as (0: of any ISD-AS), in id order (so that allocators lock in
 * one order), before an allocation picks among them. 0 or err. */
int pool_lock_isd_as(struct db *db, uint64_t isd_as);

/* Every pool of isd_as (0: of any ISD-AS), IPv4 pools first, then by id: the allocator's
 * order of preference. *out (NULL when *n is 0) is the caller's to free. 0, ERR_NOMEM,
 * ERR_DB. */
int pool_list_ordered(struct db *db, uint64_t isd_as, struct pool **out, int *n);

/* Apply ch to pool id. The gateway is written as given: the allocator checks that nobody holds
 * it (alloc_pool_update). 0, ERR_NOT_FOUND, ERR_CONFLICT (name taken), ERR_DB. */
int pool_update(struct db *db, int64_t id, const struct pool_change *ch, int64_t now);

/* Delete a pool and its reservations. Unless force, ERR_CONFLICT while it has live grants;
 * with force, grants are released first (history actor = actor; GRANT_RELEASE of each assigned
 * one in the agents' outbox). POOL_REMOVED is queued, as POOL is by pool_create and
 * pool_update (db/agentdelta.h). *released is set. */
int pool_delete(
    struct db *db, int64_t id, int force, const char *actor, int64_t now, int64_t *released);

/* Counts at time now. 0 or ERR_DB. */
int pool_counts(struct db *db, const struct pool *p, int64_t now, struct pool_counts *c);

/* The counts of p from its counters, given how many of its holds lapsed and how many of those
 * sit on reserved addresses (every backend's pool_counts ends here). */
void pool_counts_of(
    const struct pool *p, int64_t lapsed, int64_t lapsed_reserved, struct pool_counts *c);

/* The holds of pool_id that lapsed by now, and how many of those sit on reserved addresses
 * (pool_counts' correction of the counters). 0 or ERR_DB. */
int pool_count_lapsed(
    struct db *db, int64_t pool_id, int64_t now, int64_t *lapsed, int64_t *lapsed_reserved);

/* Apply counter deltas and, if next_index is not NULL, the new cursor. 0 or err. */
int pool_adjust(struct db *db, int64_t id, int64_t d_assigned, int64_t d_held, int64_t d_reserved,
    int64_t d_occupied, const uint64_t *next_index);

/* Whether index idx of pool_id is taken: by a grant (live or lapsed) or a reservation.
 * 1, 0 or err. */
int pool_index_occupied(struct db *db, int64_t pool_id, uint64_t idx);

#endif
