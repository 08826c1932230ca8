/* Reservations: an address of a pool pinned to a pssid for good. The allocator
 * (manager/alloc.c) makes and removes them, since they change which addresses are free; these
 * functions only store. */
#ifndef DB_RESERVATION_H
#define DB_RESERVATION_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/pssid.h"

struct db;
struct pool;

struct reservation {
	int64_t id;
	int64_t pool_id;
	char address[ADDR_STRLEN];
	char pssid[PSSID_MAX + 1];
	int64_t created_at;
};

/* Reservations of a pool with id > after, by id, up to limit into out; *n is set. 0 or err. */
int reservation_list(
    struct db *db, int64_t pool_id, int64_t after, int limit, struct reservation *out, int *n);

/* Whether index idx of pool_id is reserved: 1 (its pssid copied to pssid, PSSID_MAX + 1 bytes,
 * unless NULL), 0, or err. */
int reservation_at(struct db *db, int64_t pool_id, uint64_t idx, char *pssid);

/* Whether pssid has a reservation in pool_id: 1, 0 or err. */
int reservation_has(struct db *db, int64_t pool_id, const char *pssid);

/* The pssid's reservations with their pools, IPv4 pools first, then by pool id:
 * fn(arg, pool, reserved index) for each; fn returns 0 to go on, anything else stops the walk
 * and is returned. fn must not use the store. 0 at the end, fn's value, or a negative err. */
int reservation_list_pssid(struct db *db, const char *pssid,
    int (*fn)(void *arg, const struct pool *p, uint64_t idx), void *arg);

/* Reserve index idx (address its text) of pool_id for pssid; *id is set. 0, ERR_CONFLICT (the
 * address is reserved, or the pssid has a reservation in the pool), err. */
int reservation_add(struct db *db, int64_t pool_id, uint64_t idx, const char *address,
    const char *pssid, int64_t now, int64_t *id);

/* Remove the reservation of index idx of pool_id. 0, ERR_NOT_FOUND, err. */
int reservation_remove(struct db *db, int64_t pool_id, uint64_t idx);

#endif
