/* The bootstrap admin token: on the very first start the manager makes one admin token so that
 * an operator can call the API at all. The token records are the store's (db/admintoken.h). */
#ifndef MANAGER_ADMINTOKEN_H
#define MANAGER_ADMINTOKEN_H

#include <stdint.h>

struct db;

/* On the very first start: create the "bootstrap" admin token, write it to
 * <state_dir>/admin.token (0600) and print it once on stdout. 0, or err (logged). */
int admintoken_bootstrap(struct db *db, const char *state_dir, int64_t now);

#endif
