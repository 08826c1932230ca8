/* Revoking a pssid, the one decision every path shares (DELETE /v1/clients, POST
 * /v1/revocations for any pssid, the discard of an unacknowledged enrollment): the revocation
 * goes on the list the agents enforce, and the pssid's address is released here. The agent
 * closes the revoked tunnel (code 3) without a HOLD_REQ — the address is the manager's to free,
 * so it must be freed on every path or it stays assigned to a tunnel that no longer exists. */
#ifndef MANAGER_REVOKE_H
#define MANAGER_REVOKE_H

#include <stdint.h>

struct db;

/* Revoke pssid (reason, by actor, at now) and release its grant if it has one, in the caller's
 * transaction or one of its own. A pssid revoked already keeps its first reason; its grant is
 * released all the same. 0 or err. */
int revoke_pssid(
    struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now);

/* The same, for a pssid whose credentials all die by expires_at (> 0): an enrollment never
 * acknowledged. The revocation is lifted then (revoke_sweep); a pssid revoked already keeps
 * its revocation as it is. 0 or err. */
int revoke_pssid_until(struct db *db, const char *pssid, const char *reason, const char *actor,
    int64_t now, int64_t expires_at);

/* Lift at most max revocations past their expiry, in one transaction: the agents get a fresh
 * list without them. Returns how many, or err. */
int revoke_sweep(struct db *db, int64_t now, int max);

#endif
