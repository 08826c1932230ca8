/* The records an agent's state is built from, read as the state channel sends them (proto/README.md
 * §2.3): the trusted token keys with their public PEM, and the grants one agent owns with their
 * pool's ISD-AS. (Revocations and pools are read with revocation_list() and pool_list().)
 * Functions return 0 or a negative enum err (lib/err.h). */
#ifndef DB_AGENTSNAP_H
#define DB_AGENTSNAP_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/pssid.h"
#include "../proto/jwtkey.h"

struct db;

/* A key the agents trust (not retired). The strings are the store's: valid during the callback
 * only. */
struct agentsnap_key {
	const char *kid;
	const char *alg; /* "EdDSA", "ES256", "RS256" */
	const char *pem; /* the public key */
	int64_t verify_until; /* Unix seconds; 0: no end */
	const char *iss, *aud; /* "" or the pins of an imported key (db/signkey.h) */
};

/* Called once per key; non-zero stops the walk (returned then). */
typedef int (*agentsnap_key_fn)(void *arg, const struct agentsnap_key *k);

/* Every key not retired, by kid, to fn. 0, fn's non-zero value, or err. */
int agentsnap_keys(struct db *db, agentsnap_key_fn fn, void *arg);

/* The key kid to fn if it is there and not retired: fn's value (0 if it returns 0),
 * ERR_NOT_FOUND, or err. */
int agentsnap_key(struct db *db, const char *kid, agentsnap_key_fn fn, void *arg);

/* A grant an agent owns, with its pool's ISD-AS. */
struct agentsnap_grant {
	int64_t id;
	char pssid[PSSID_MAX + 1];
	char address[ADDR_STRLEN];
	uint64_t isd_as;
	int64_t session_id;
	int on_hold; /* 0: assigned */
	int64_t hold_until; /* 0 unless on hold */
	int64_t pool_id;
};

/* agent_id's grants that are assigned, or on hold and not lapsed at now, with id > after, by id,
 * at most limit, into out; *n is set. 0 or err. */
int agentsnap_grants(struct db *db, int64_t agent_id, int64_t now, int64_t after, int limit,
    struct agentsnap_grant *out, int *n);

#endif
