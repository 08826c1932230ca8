/* Clients: enrolled identities (pssid = a random UUID) with a name, labels, the join token they
 * came from and a refresh secret ("snr_…", stored as SHA-256) that rotates on every use. A
 * superseded refresh secret presented again means it was copied: the client is revoked. */
#ifndef MANAGER_CLIENT_H
#define MANAGER_CLIENT_H

#include <stdint.h>

#include "../lib/pssid.h"
#include "../lib/secret.h"
#include "jointoken.h"

struct db;

#define CLIENT_REFRESH_PREFIX "snr_"
#define CLIENT_NAME_MAX 64

struct client {
	int64_t id;
	char pssid[PSSID_MAX + 1];
	char name[CLIENT_NAME_MAX + 1];
	char labels[JOINTOKEN_LABELS_STRLEN];
	int64_t join_token_id; /* 0: none */
	int enrolled; /* its join token is consumed (acknowledged) */
	int64_t created_at, updated_at;
	int64_t revoked_at; /* 0: not revoked */
	char revoke_reason[128];
};

int client_name_valid(const char *s);

/* A new random version-4 UUID (36 characters + NUL) into buf. 0 or -1. */
int client_new_pssid(char *buf);

/* Create a client with a fresh refresh secret (into refresh, SECRET_STRLEN). 0 or err. */
int client_create(struct db *db, const char *pssid, const char *name, const char *labels,
    int64_t join_token_id, int64_t now, char *refresh);

/* Give the client a new refresh secret (the old one is simply replaced, not remembered: used
 * when an unacknowledged enrollment is retried). 0, ERR_NOT_FOUND, err. */
int client_reset_refresh(struct db *db, const char *pssid, int64_t now, char *refresh);

/* Exchange a refresh secret for a new one. 0 with *c the client; ERR_DENIED for an unknown
 * secret, a revoked client or an unacknowledged enrollment; ERR_GONE when the secret was
 * superseded: the client is revoked for theft (in this transaction: the caller commits). */
int client_refresh(
    struct db *db, const char *secret, int64_t now, struct client *c, char *new_secret);

int client_get(struct db *db, const char *pssid, struct client *c);

struct client_filter {
	const char *label_key, *label_value; /* NULL: any */
	int revoked; /* -1: any, 0 or 1 */
};

/* Clients with id > after, by id, at most limit. */
int client_list(struct db *db, const struct client_filter *f, int64_t after, int limit,
    struct client *out, int *n);

/* Rename and/or relabel (NULL: unchanged). 0, ERR_NOT_FOUND, err. */
int client_update(
    struct db *db, const char *pssid, const char *name, const char *labels, int64_t now);

/* Revoke: refresh secret dead, pssid on the revocation list, its grant released. Revoking a
 * revoked client changes nothing. 0, ERR_NOT_FOUND, err. */
int client_revoke(
    struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now);

/* Forget the client of an enrollment that was never acknowledged (its token reverted or was
 * aborted while in flight): record deleted, pssid revoked so the access token it got is
 * refused. 0 (also when there is none) or err. */
int client_discard_unacknowledged(
    struct db *db, int64_t join_token_id, const char *actor, int64_t now);

#endif
