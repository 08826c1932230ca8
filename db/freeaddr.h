/* The reuse list of a sequential pool: indexes below the pool's cursor that were given back,
 * handed out again lowest first (manager/alloc.c). Random pools do not use it. */
#ifndef DB_FREEADDR_H
#define DB_FREEADDR_H

#include <stdint.h>

struct db;

/* Put index idx of pool_id on the list (already there: nothing changes). 0 or err. */
int freeaddr_add(struct db *db, int64_t pool_id, uint64_t idx);

/* Take index idx of pool_id off the list, if it is there. 0 or err. */
int freeaddr_remove(struct db *db, int64_t pool_id, uint64_t idx);

/* The lowest listed index of pool_id into *idx. 0, ERR_NOT_FOUND (the list is empty), err. */
int freeaddr_lowest(struct db *db, int64_t pool_id, uint64_t *idx);

#endif
