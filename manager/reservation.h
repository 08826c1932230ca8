/* Reservations as read from the store (they are made and removed by alloc.c). */
#ifndef MANAGER_RESERVATION_H
#define MANAGER_RESERVATION_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/pssid.h"

struct db;

struct reservation {
	int64_t id;
	int64_t pool_id;
	char address[ADDR_STRLEN];
	char pssid[PSSID_MAX + 1];
	int64_t created_at;
};

/* Reservations of a pool with id > after, by id. 0 or err. */
int reservation_list(
    struct db *db, int64_t pool_id, int64_t after, int limit, struct reservation *out, int *n);

#endif
