/* Revoked pssids, enrolled or not: the list the agent enforces (a revoked pssid's tunnels are
 * closed and its tokens refused). */
#ifndef MANAGER_REVOCATION_H
#define MANAGER_REVOCATION_H

#include <stdint.h>

struct db;

/* Put pssid on the list (kept as it is if it is there already). 0 or err. */
int revocation_add(
    struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now);

/* 1 if pssid is revoked, 0 if not, or err. */
int revocation_has(struct db *db, const char *pssid);

#endif
