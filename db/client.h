/* The store's clients: enrolled identities (pssid) with a name, labels, the join token they came
 * from and the SHA-256 of their current refresh secret, plus the hashes of the refresh secrets
 * they exchanged (superseded: presented again, they betray a copy). Secrets never reach the
 * store. Minting secrets, theft detection, revocation and discarding an unacknowledged
 * enrollment are the clients' lifecycle (manager/client.h). */
#ifndef DB_CLIENT_H
#define DB_CLIENT_H

#include <stdint.h>

#include "../lib/pssid.h"
#include "../lib/text.h"
#include "jointoken.h"

struct db;

#define CLIENT_NAME_MAX 64

struct client {
	int64_t id;
	char pssid[PSSID_MAX + 1];
	char name[TEXT_NAME_BYTES(CLIENT_NAME_MAX) + 1];
	char labels[JOINTOKEN_LABELS_STRLEN];
	int64_t join_token_id; /* 0: none */
	int64_t pool_id; /* its join token's pool, which binds its grants; 0: any */
	int enrolled; /* its join token is consumed (acknowledged) */
	int64_t created_at, updated_at;
	int64_t revoked_at; /* 0: not revoked */
	char revoke_reason[128];
};

struct client_filter {
	const char *label_key, *label_value; /* NULL: any */
	int revoked; /* -1: any, 0 or 1 */
};

int client_name_valid(const char *s);

/* Store a new client whose refresh secret hashes to refresh_hash (join_token_id 0: none).
 * 0, ERR_CONFLICT (pssid or hash in use), err. */
int client_insert(struct db *db, const char *pssid, const char *name, const char *labels,
    int64_t join_token_id, const char *refresh_hash, int64_t now);

/* The client with this pssid, the one that came from join token join_token_id, or the one
 * whose current refresh secret hashes to refresh_hash. 0, ERR_NOT_FOUND, err. */
int client_get(struct db *db, const char *pssid, struct client *c);
int client_get_by_join_token(struct db *db, int64_t join_token_id, struct client *c);
int client_get_by_refresh(struct db *db, const char *refresh_hash, struct client *c);

/* Clients matching f with id > after, by id, at most limit, into out; *n is set. 0 or err. */
int client_list(struct db *db, const struct client_filter *f, int64_t after, int limit,
    struct client *out, int *n);

/* How many clients are enrolled (their join token consumed, or made without one) and not
 * revoked, into *active, and how many are revoked, into *revoked. 0 or err. */
int client_count(struct db *db, int64_t *active, int64_t *revoked);

/* Rename and/or relabel (NULL: unchanged). 0, ERR_NOT_FOUND, err. */
int client_update(
    struct db *db, const char *pssid, const char *name, const char *labels, int64_t now);

/* Replace the refresh hash of a client that is not revoked, forgetting the old one (an
 * unacknowledged enrollment retried). 0, ERR_NOT_FOUND (no such client, or revoked), err. */
int client_set_refresh(struct db *db, const char *pssid, const char *refresh_hash, int64_t now);

/* Exchange the client's refresh hash old_hash for new_hash and remember old_hash as superseded
 * by pssid; with retriable, new_hash is remembered beside it as its successor (one a retry of
 * the exchange may give out again). 0, ERR_NOT_FOUND (pssid's refresh hash is not old_hash:
 * nothing changed), err. */
int client_rotate_refresh(struct db *db, const char *pssid, const char *old_hash,
    const char *new_hash, int retriable, int64_t now);

/* A superseded refresh secret: whose, and what replaced it. */
struct client_superseded {
	char pssid[PSSID_MAX + 1];
	char successor_hash[65]; /* "" unless the exchange was retriable */
	int64_t superseded_at;
};

/* The superseded refresh secret that hashes to refresh_hash. 0, ERR_NOT_FOUND, err. */
int client_get_superseded(struct db *db, const char *refresh_hash, struct client_superseded *s);

/* Mark the client revoked at now for reason; its refresh secret dies with it. 0,
 * ERR_NOT_FOUND, err. */
int client_set_revoked(struct db *db, const char *pssid, const char *reason, int64_t now);

/* Forget the client (superseded hashes stay: they still betray a copy). 0, ERR_NOT_FOUND,
 * err. */
int client_delete(struct db *db, const char *pssid);

#endif
