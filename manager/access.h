/* Access tokens: the tunnel JWTs clients present to the agent (proto/README.md §1.5), signed with
 * the manager's active Ed25519 key. */
#ifndef MANAGER_ACCESS_H
#define MANAGER_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "signkeys.h"

struct jwt_signer;

#define ACCESS_TTL_DEFAULT 3600
/* --access-token-ttl: at least the 10 s a renewal needs to come round; at most the default,
 * because a revocation is forgotten CLIENT_DISCARD_REVOKE_SECONDS after it was made, which
 * must outlast every token the revoked client holds. */
#define ACCESS_TTL_ENROLL_MIN 10
#define ACCESS_TTL_ENROLL_MAX ACCESS_TTL_DEFAULT
/* A rotated-out key verifies only as long as the longest token it can have signed. */
#define ACCESS_TTL_MAX SIGNKEYS_TOKEN_TTL_MAX
#define ACCESS_ISSUER "snaptun-manager"
#define ACCESS_AUDIENCE "snaptun"

/* Mint a token for pssid (sub = name) valid from now for ttl seconds, with a random jti, into
 * out (cap bytes); *exp gets its expiry. Returns its length or a negative error. */
ssize_t access_mint(const struct jwt_signer *s, const char *pssid, const char *name, int64_t now,
    int64_t ttl, char *out, size_t cap, int64_t *exp);

#endif
