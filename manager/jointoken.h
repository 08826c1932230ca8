/* The join tokens' lifecycle (api.md "Join tokens"): issuing a token (its secret, "snj_" + 43
 * base64url characters, is shown once; the store keeps its SHA-256), aborting it, reverting an
 * unacknowledged enrollment and the sweep that writes down what time decided. Each is one
 * transaction with its audit event (the caller's, or the sweep's here) over the store's rows
 * and transitions (db/jointoken.h). */
#ifndef MANAGER_JOINTOKEN_H
#define MANAGER_JOINTOKEN_H

#include <stdint.h>

#include "../db/jointoken.h"
#include "../lib/secret.h"

struct db;

#define JOINTOKEN_PREFIX "snj_"
#define JOINTOKEN_TTL_DEFAULT 3600
#define JOINTOKEN_TTL_MAX (30 * 86400)
#define JOINTOKEN_COUNT_MAX 1000
/* Unacknowledged joins a token survives: the revert that reaches this many attempts aborts it,
 * so a leaked token cannot mint identities (and revocations) without end. */
#define JOINTOKEN_ATTEMPTS_MAX 3

/* Create a token; its secret goes to secret (SECRET_STRLEN). Several calls may share the
 * caller's transaction (bulk provisioning). 0 or err. */
int jointoken_create(struct db *db, const struct jointoken_spec *spec, const char *actor,
    int64_t now, struct join_token *out, char *secret);

/* Abort an issued or in-flight token (an in-flight enrollment's client is discarded). 0,
 * ERR_NOT_FOUND, ERR_CONFLICT (consumed, expired or aborted already: *t says which), err. */
int jointoken_abort(
    struct db *db, int64_t id, const char *actor, int64_t now, struct join_token *t);

/* Revert an in-flight token whose ack did not come (issued again, attempt + 1, audited as
 * join_token.revert by actor) and discard the unacknowledged client; at JOINTOKEN_ATTEMPTS_MAX
 * attempts the token is aborted instead of used again (join_token.abort by actor). A token no
 * longer in flight is left alone. Runs inside the caller's transaction. 0 or err. */
int jointoken_revert(struct db *db, int64_t id, const char *actor, int64_t now);

/* Write down what time decided: issued tokens past expiry become expired; in-flight tokens
 * past their ack deadline go back to issued with one more attempt (or are aborted at the cap). At most max of each;
 * returns how many changed, or err. Each change is audited with actor "sweeper". */
int jointoken_sweep(struct db *db, int64_t now, int max);

#endif
