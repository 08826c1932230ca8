/* The clients' lifecycle: refresh secrets ("snr_…") minted here and rotated on every use (the
 * store keeps only their SHA-256), the theft response to a superseded secret presented again,
 * revocation, and discarding the client of an enrollment that was never acknowledged. Each
 * combines the client's row (db/client.h) with the revocation list, its address grant and the
 * audit log. */
#ifndef MANAGER_CLIENT_H
#define MANAGER_CLIENT_H

#include <stdint.h>

#include "../db/client.h"
#include "../lib/secret.h"
#include "access.h"

struct db;

#define CLIENT_REFRESH_PREFIX "snr_"

/* A new random version-4 UUID (36 characters + NUL) into buf. 0 or -1. */
int client_new_pssid(char *buf);

/* Create a client with a fresh refresh secret (into refresh, SECRET_STRLEN). 0 or err. */
int client_create(struct db *db, const char *pssid, const char *name, const char *labels,
    int64_t join_token_id, int64_t now, char *refresh);

/* Give the client a new refresh secret (the old one is simply replaced, not remembered: used
 * when an unacknowledged enrollment is retried). 0, ERR_NOT_FOUND, err. */
int client_reset_refresh(struct db *db, const char *pssid, int64_t now, char *refresh);

/* How long a retried exchange (client_refresh with the same request_id) may give the same
 * successor again. */
#define CLIENT_RETRY_SECONDS 86400
#define CLIENT_REQUEST_ID_MIN 16
#define CLIENT_REQUEST_ID_MAX 64

/* Whether s is a request_id: 16 to 64 characters of A-Z a-z 0-9 _ -. */
int client_request_id_valid(const char *s);

/* Exchange a refresh secret for a new one (into new_secret, SECRET_STRLEN). Without request_id
 * (NULL) the successor is random; with one it is derived from the secret and the request_id
 * (secret_derive), so that the same exchange presented again — the secret already superseded,
 * the same request_id, within CLIENT_RETRY_SECONDS, and the successor not used since — gives
 * the same successor again (*retried set; audited as client.token_retry) instead of counting
 * as theft. 0 with *c the client; ERR_DENIED for an unknown secret, a revoked client or an
 * unacknowledged enrollment; ERR_GONE when the secret was superseded otherwise: the client is
 * revoked for theft (in this transaction: the caller commits). */
int client_refresh(struct db *db, const char *secret, const char *request_id, int64_t now,
    struct client *c, char *new_secret, int *retried);

/* Revoke: refresh secret dead, pssid on the revocation list, its grant released. Revoking a
 * revoked client changes nothing. 0, ERR_NOT_FOUND, err. */
int client_revoke(
    struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now);

/* How long the revocation of a discarded enrollment's pssid outlives the discard: every access
 * token it got was minted before, with the default lifetime (refresh and minting by an
 * operator wait for the ack), plus slack for agents whose clocks lag. Its pssid is never drawn
 * again, so nothing comes back to life when the revocation goes. */
#define CLIENT_DISCARD_REVOKE_SECONDS (ACCESS_TTL_DEFAULT + 300)

/* Forget the client of an enrollment that was never acknowledged (its token reverted or was
 * aborted while in flight): record deleted, pssid revoked for CLIENT_DISCARD_REVOKE_SECONDS so
 * the access token it got is refused while it can be valid. 0 (also when there is none) or
 * err. */
int client_discard_unacknowledged(
    struct db *db, int64_t join_token_id, const char *actor, int64_t now);

#endif
