/* Two-phase enrollment (api.md "Enrollment"): POST /v1/join presents a join token and gets a
 * bundle — pssid, refresh secret, one-time ack token — with the token in flight for the
 * caller's address; POST /v1/join/ack consumes the token. Until then the bundle is worthless:
 * when the ack deadline passes the token reverts and the client is discarded (jointoken.c).
 * Every step is one transaction in the durable (synchronous=FULL) store. */
#ifndef MANAGER_ENROLL_H
#define MANAGER_ENROLL_H

#include <stdint.h>

#include "../lib/secret.h"
#include "client.h"
#include "../lib/text.h"

struct db;

#define ENROLL_ACK_TTL 30 /* default; --ack-ttl */
#define ENROLL_ACK_TTL_MAX 600
#define ENROLL_ACK_PENDING_MAX 1024
#define ENROLL_ACK_PREFIX "ack_"
/* "ack_" + 22 base64url characters (128 random bits) + NUL */
#define ENROLL_ACK_STRLEN (4 + 22 + 1)

struct enroll_bundle {
	char pssid[PSSID_MAX + 1];
	char name[TEXT_NAME_BYTES(CLIENT_NAME_MAX) + 1];
	int64_t join_token_id;
	int64_t pool_id; /* the join token's pool, 0: any */
	char refresh[SECRET_STRLEN];
	char ack[ENROLL_ACK_STRLEN];
	int64_t ack_deadline;
	int64_t attempts; /* the token's unacknowledged joins so far */
};

/* Present join token secret from caller (an address in text form). name ("" for the token's
 * own name) names the new client. Presenting it again from the same caller while in flight
 * gives the same pssid with fresh secrets (the earlier ones die). Errors: ERR_DENIED (unknown
 * token: nothing is revealed), ERR_GONE (consumed, expired or aborted; *state says which),
 * ERR_CONFLICT (in flight for another address), ERR_LIMIT (too many acks pending), err. */
int enroll_join(struct db *db, const char *secret, const char *name, const char *caller,
    int64_t now, int64_t ack_ttl, struct enroll_bundle *b, enum jointoken_state *state);

/* Acknowledge: the in-flight token whose ack this is becomes consumed. ERR_GONE for an unknown,
 * superseded or late ack (nothing is consumed), err. *pssid (PSSID_MAX + 1) names the client. */
int enroll_ack(struct db *db, const char *ack, int64_t now, char *pssid);

#endif
