/* What the manager pushed to this agent over the state channel (proto/README.md §2.3, §2.4): the
 * trusted token keys, the revoked pssids, the grants this agent owns, the pools and the limits. One
 * in-memory model fed by both the snapshot items (KEY, REVOKED, GRANT, POOL, LIMITS) and the deltas
 * (KEY_ADD, KEY_RETIRE, REVOKE, GRANT_RELEASE, POOL_UPDATE): the link builds a snapshot in a fresh
 * struct state beside the live one and the agent swaps them at SNAPSHOT_END.
 *
 * The agent enforces from the live state alone, so it keeps working from its cache while the
 * manager is unreachable. Functions return 0 or a negative enum err (lib/err.h). */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/addr.h"
#include "../lib/hashtab.h"
#include "../lib/pssid.h"
#include "../lib/text.h"
#include "../proto/chan.h"
#include "../proto/jwt.h"

/* A verification key as the manager sent it: the PEM is kept so that the keyset can be rebuilt
 * when a key is retired (a jwt_keyset only grows). */
struct state_key {
	char kid[JWT_KID_MAX + 1];
	char *pem;
	int64_t verify_until; /* Unix seconds; 0: no end */
	char iss[JWT_PIN_MAX + 1], aud[JWT_PIN_MAX + 1]; /* "" or its pins (jwt_keyset_pin()) */
};

struct state_grant {
	uint64_t id, session_id, pool_id, isd_as;
	char pssid[PSSID_MAX + 1];
	struct addr addr;
	int on_hold;
	int64_t hold_until;
};

enum state_pool_mode { STATE_POOL_IP = 1, STATE_POOL_SCION = 2 };

struct state_pool {
	uint64_t id, isd_as;
	char name[TEXT_NAME_BYTES(64) + 1]; /* the pool name (64 characters) */
	struct prefix prefix;
	enum state_pool_mode mode;
	uint32_t hold_seconds;
	struct addr gateway; /* the gateway's own address in the pool; family 0: none */
	int isolate_clients; /* no client-to-client traffic (proto/state.proto Pool) */
};

struct state_limits {
	uint32_t max_sessions, max_sessions_per_pssid;
	uint64_t session_rate_bps;
	uint32_t idle_timeout_seconds, heartbeat_seconds, stats_seconds;
};

struct state {
	uint64_t generation; /* of the snapshot this state was built from; 0: none yet */
	struct jwt_keyset *keyset; /* built from keys[] */
	struct state_key *keys;
	size_t nkeys, capkeys;
	struct state_grant *grants;
	size_t ngrants, capgrants;
	struct state_pool *pools;
	size_t npools, cappools;
	struct state_limits limits;
	struct hashtab revoked; /* of struct state_revoked (state.c), never removed */
};

/* An empty state (no keys: every token is refused), or NULL when out of memory (or of
 * randomness for its hash key). Free with
 * state_free() (NULL is fine). */
struct state *state_new(void);
void state_free(struct state *st);

/* Changes, one per kind of snapshot item and delta (the link calls them on the snapshot it
 * builds, the agent on its live state). Each returns 0 or a negative enum err; retiring,
 * releasing or removing something unknown is fine.
 *
 * state_key_put: trust key k (KEY, KEY_ADD), replacing a key of its kid; ERR_INVALID (st
 * unchanged) when jwtkey refuses its PEM, its type is not its alg or a pin is not "" or
 * jwt_pin_valid(); ERR_NOMEM. */
int state_key_put(struct state *st, const State__Key *k);
int state_key_retire(struct state *st, const char *kid); /* KEY_RETIRE */

/* pssid is revoked (REVOKED, REVOKE): ERR_INVALID for an invalid pssid, ERR_NOMEM. */
int state_revoke(struct state *st, const char *pssid);

/* A grant this agent owns (GRANT), replacing one of its id: ERR_INVALID without an id, a valid
 * pssid or a 4- or 16-byte address; ERR_NOMEM. */
int state_grant_put(struct state *st, const State__Grant *g);
void state_grant_release(struct state *st, uint64_t grant_id); /* GRANT_RELEASE */

/* A pool as it is now (POOL, POOL_UPDATE), replacing one of its id: ERR_INVALID without an id,
 * with a bad prefix or a gateway address outside it; ERR_NOMEM. */
int state_pool_put(struct state *st, const State__Pool *p);
void state_pool_remove(struct state *st, uint64_t pool_id); /* POOL_UPDATE removed */

void state_limits_set(struct state *st, const State__Limits *l); /* LIMITS */

/* Whether pssid is revoked: 1 or 0. */
int state_revoked(const struct state *st, const char *pssid);

/* Verify a tunnel token (len bytes) at Unix time now with the trusted keys: jwt_verify(), then
 * the key's verify_until. Returns 0 with *out filled or a negative enum jwt_err
 * (JWT_ERR_UNKNOWN_KEY when the key that verified is past its verify_until). Revocation is the
 * caller's check (state_revoked()). */
int state_verify_token(
    const struct state *st, const char *token, size_t len, int64_t now, struct jwt_claims *out);

/* The pool whose prefix holds a, or NULL. */
const struct state_pool *state_pool_of(const struct state *st, const struct addr *a);

const struct state_grant *state_grant_find(const struct state *st, uint64_t grant_id);

#endif
