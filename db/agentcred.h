/* Agents on other hosts (api.md "Remote agents"): the one-time agent tokens that enroll them and
 * the credentials of each enrolled agent, which the state channel's TLS listener checks before
 * it serves a connection (manager/agenttls.c). A token is issued → used (by one enrollment) and
 * is usable only until expires_at; the enrollment that uses it is one transaction with the
 * credential it makes, so of two racing enrollments exactly one gets an agent. Secrets never
 * reach the store: tokens are found by the SHA-256 the caller computed. Functions return 0 or a
 * negative enum err (lib/err.h). */
#ifndef DB_AGENTCRED_H
#define DB_AGENTCRED_H

#include <stdint.h>

#include "../lib/text.h"

struct db;

#define AGENTCRED_NAME_MAX 64
#define AGENTCRED_PIN_STRLEN 45 /* base64 of a SHA-256, with its NUL */
#define AGENTCRED_KEY_STRLEN 44 /* base64url of 32 bytes, with its NUL */
#define AGENTCRED_ID_MIN 1000 /* enrolled agents get ids above every local agent's below this */
/* Enrollments take it (db_serialize) before they draw an id: two managers enrolling at once
 * draw one after the other, never the same. */
#define AGENTCRED_ID_LOCK_KEY 0x736e61706167656ell /* "snapagen" */

struct agent_token {
	int64_t id;
	char name[TEXT_NAME_BYTES(AGENTCRED_NAME_MAX) + 1];
	int64_t created_at, expires_at;
	int64_t used_at, agent_id; /* 0, 0 until used */
	char created_by[TEXT_ACTOR_MAX + 1];
};

struct agent_cred {
	int64_t agent_id;
	char name[TEXT_NAME_BYTES(AGENTCRED_NAME_MAX) + 1];
	char client_pin[AGENTCRED_PIN_STRLEN];
	char channel_key[AGENTCRED_KEY_STRLEN];
	int64_t enrolled_at;
	int64_t revoked_at; /* 0: not revoked */
};

/* Store a new token whose secret hashes to hash, named name ("" for none), expiring at
 * expires_at; the row goes to *out. 0, ERR_CONFLICT (hash in use), err. */
int agentcred_token_insert(struct db *db, const char *hash, const char *name, int64_t expires_at,
    const char *actor, int64_t now, struct agent_token *out);

/* Tokens with id > after, by id, at most limit, into out; *n is set. 0 or err. */
int agentcred_token_list(struct db *db, int64_t after, int limit, struct agent_token *out, int *n);

/* Delete a token (used or not: a used one's agent keeps its credential). 0, ERR_NOT_FOUND, err. */
int agentcred_token_delete(struct db *db, int64_t id, struct agent_token *out);

/* In the caller's transaction: spend the token whose secret hashes to hash at now and enroll an
 * agent with it: a new id (above AGENTCRED_ID_MIN and above every agent's and credential's),
 * named name (or the token's name when name is ""), with the client pin and channel key given.
 * *out gets the credential, *token_id the token's id. ERR_DENIED (no such token), ERR_GONE
 * (used or expired: *token_id is set), ERR_CONFLICT (the pin is another agent's), err. */
int agentcred_enroll(struct db *db, const char *hash, const char *name, const char *client_pin,
    const char *channel_key, int64_t now, struct agent_cred *out, int64_t *token_id);

/* The credential of agent id, or of the client pin. 0, ERR_NOT_FOUND, err. */
int agentcred_get(struct db *db, int64_t id, struct agent_cred *out);
int agentcred_get_by_pin(struct db *db, const char *client_pin, struct agent_cred *out);

/* Rename agent id. 0, ERR_NOT_FOUND, err. */
int agentcred_rename(struct db *db, int64_t id, const char *name);

/* Revoke agent id at now: 1 when revoked now, 0 when it was already, ERR_NOT_FOUND, err. */
int agentcred_revoke(struct db *db, int64_t id, int64_t now);

#endif
