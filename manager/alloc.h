/* The address allocator: acquire, hold and release address grants (proto/README.md §1.3, api.md
 * "Grants"). Each call is one transaction (nested in the caller's when one is open, so
 * the state channel can commit many allocations at once; see db.h). No call scans a pool: sequential
 * pools keep a cursor and a list of released addresses below it (db/freeaddr.h), random pools
 * probe single indexes, and the store finds lapsed holds by their hold time. A lapsed hold is
 * free for everyone at once; the sweep only tidies up. The decisions are made here; every read
 * and write is a named store function (db/pool.h, db/grant.h, db/reservation.h). */
#ifndef MANAGER_ALLOC_H
#define MANAGER_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "../db/grant.h"
#include "../db/pool.h"

struct db;
struct addr;

struct alloc_req {
	const char *pssid;
	uint64_t isd_as; /* 0: any ISD-AS */
	int family; /* 0: any (IPv4 first, then IPv6), 4 or 6 */
	const struct addr *addr; /* NULL or all-zero: any address */
	int64_t session_id; /* fencing: a newer session has a larger id */
	int64_t agent_id;
	const char *actor; /* recorded in the history: "agent:3", a token name */
	int64_t pool_id; /* the client's join token binds it to this pool; 0: any pool */
	/* the pool modes the agent forwards (CHAN_MODE_* bits of proto/chan.h); 0: any. A request
	 * that names neither a pool, an ISD-AS nor an address takes no scion pool's address while
	 * an ip pool of either family exists for it. */
	unsigned modes;
};

/* Check a request before it reaches the store: a valid pssid, family 0, 4 or 6, a requested
 * address (if any) of the requested family, a session id above 0. The state channel calls it
 * before anything else of the request; alloc_acquire calls it too. 0, or ERR_INVALID with the
 * reason for the user in why. */
int alloc_req_check(const struct alloc_req *r, char *why, size_t whylen);

/* Grant an address to r->pssid. The same pssid gets its reserved, active or on-hold address
 * back (a reservation wins over a grant elsewhere); a requested address is granted when it is
 * free, lapsed or already this pssid's. On failure the reason for the user goes to why:
 * ERR_INVALID, ERR_STALE_SESSION (an older session than the grant's), ERR_ADDR_TAKEN,
 * ERR_ADDR_NOT_IN_POOL, ERR_NO_POOL, ERR_POOL_EXHAUSTED (naming the pools), ERR_DB, ERR_BUSY. */
int alloc_acquire(struct db *db, const struct alloc_req *r, int64_t now, struct grant *out,
    char *why, size_t whylen);

/* Put a grant on hold for its pool's hold time (released at once when that is 0). A session id
 * older than the grant's is refused with ERR_STALE_SESSION; holding a held grant is a no-op.
 * out (may be NULL) gets the grant afterwards. 0, ERR_NOT_FOUND, ERR_STALE_SESSION, err. */
int alloc_hold(struct db *db, int64_t grant_id, int64_t session_id, const char *actor, int64_t now,
    struct grant *out);

/* Release a grant now. session_id < 0 is an administrative release and is not fenced.
 * 0, ERR_NOT_FOUND, ERR_STALE_SESSION, err. */
int alloc_release(
    struct db *db, int64_t grant_id, int64_t session_id, const char *actor, int64_t now);

/* Whether a grant still belongs to one session of one agent (reconciling an agent's sessions
 * with the store after its channel was down). */
enum alloc_owner {
	ALLOC_OWNED, /* assigned to this session of this agent */
	ALLOC_GONE, /* released, lapsed, on hold, or not this agent's */
	ALLOC_MOVED, /* handed to another session (the client reconnected) */
};

/* Which enum alloc_owner grant_id is to session_id of agent_id, or a negative err of the store.
 * Session ids are in 1..INT64_MAX; any other session owns nothing. */
int alloc_session_owns(struct db *db, int64_t grant_id, int64_t agent_id, int64_t session_id);

/* Delete up to max holds that lapsed by now, oldest first. Returns how many, or an err. */
int alloc_sweep(struct db *db, int64_t now, int max);

/* Reservations change which indexes are free, so they are the allocator's too. */

/* Pin address a of pool_id to pssid for good. A lapsed hold of another pssid there is
 * expired; a live grant of another pssid refuses (ERR_ADDR_TAKEN); an address already
 * reserved, or a pssid that already has a reservation in the pool, is ERR_CONFLICT;
 * ERR_ADDR_NOT_IN_POOL, ERR_NOT_FOUND (pool). The reason goes to why, the input at fault
 * ("address" or "pssid") to *field. */
int alloc_reserve(struct db *db, int64_t pool_id, const char *pssid, const struct addr *a,
    const char *actor, int64_t now, int64_t *id, const char **field, char *why, size_t whylen);

/* Remove the reservation of address a in pool_id. 0, ERR_NOT_FOUND, err. */
int alloc_unreserve(struct db *db, int64_t pool_id, const struct addr *a);

/* Change pool id as ch says (pool_update). A new gateway index (checked by the caller with
 * pool_gateway_check) must be free: a client's grant (assigned or on hold) or a reservation
 * there is ERR_CONFLICT with *field "gateway"; a lapsed hold there is expired. The index
 * a gateway leaves becomes free. ERR_CONFLICT with *field "name" when the name is taken,
 * ERR_NOT_FOUND, err; the reason goes to why. */
int alloc_pool_update(struct db *db, int64_t id, const struct pool_change *ch, const char *actor,
    int64_t now, const char **field, char *why, size_t whylen);
#endif
