/* Single-use join tokens (DESIGN.md "Join token"): issued → in_flight(addr) → consumed(addr, ts);
 * issued → expired past expires_at; issued | in_flight → aborted; in_flight → issued when the
 * ack deadline passes (attempt + 1). The secret ("snj_" + 43 base64url characters) is shown
 * once; the store keeps its SHA-256. Every transition is one transaction with its audit event
 * (the caller's, or the sweep's here). */
#ifndef MANAGER_JOINTOKEN_H
#define MANAGER_JOINTOKEN_H

#include <jansson.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/secret.h"

struct db;

#define JOINTOKEN_PREFIX "snj_"
#define JOINTOKEN_NAME_MAX 64
#define JOINTOKEN_LABELS_MAX 16
#define JOINTOKEN_LABEL_LEN 63
#define JOINTOKEN_TTL_DEFAULT 3600
#define JOINTOKEN_TTL_MAX (30 * 86400)
#define JOINTOKEN_COUNT_MAX 1000
#define JOINTOKEN_LABELS_STRLEN 2048

enum jointoken_state { JT_ISSUED, JT_IN_FLIGHT, JT_CONSUMED, JT_EXPIRED, JT_ABORTED };

struct join_token {
	int64_t id;
	char name[JOINTOKEN_NAME_MAX + 1];
	char labels[JOINTOKEN_LABELS_STRLEN]; /* a JSON object of strings, canonical */
	int64_t pool_id; /* 0: any pool */
	enum jointoken_state state; /* effective: an issued token past expiry is expired */
	int64_t attempts;
	int64_t expires_at;
	char in_flight_address[ADDR_STRLEN];
	int64_t ack_deadline;
	char consumed_address[ADDR_STRLEN];
	int64_t consumed_at;
	int64_t created_at, updated_at;
	char created_by[JOINTOKEN_NAME_MAX + 1];
};

/* What a new token is made of. */
struct jointoken_spec {
	const char *name; /* "" for none */
	const char *labels; /* canonical JSON object text (jointoken_labels_check) */
	int64_t pool_id; /* 0: any */
	int64_t ttl;
};

struct jointoken_filter {
	int state; /* -1: any, else enum jointoken_state (effective) */
	const char *label_key; /* NULL: any */
	const char *label_value; /* NULL: any value of label_key */
};

const char *jointoken_state_str(enum jointoken_state s);
int jointoken_state_parse(const char *s, enum jointoken_state *out);

/* Check a labels object (at most 16 string members, keys 1..63 of [a-z0-9._/-], values up to
 * 63 characters) and write its canonical text (sorted keys) to out (JOINTOKEN_LABELS_STRLEN).
 * NULL, or the reason. */
const char *jointoken_labels_check(json_t *labels, char *out);

/* Create a token; its secret goes to secret (SECRET_STRLEN). Several calls may share the
 * caller's transaction (bulk provisioning). 0 or err. */
int jointoken_create(struct db *db, const struct jointoken_spec *spec, const char *actor,
    int64_t now, struct join_token *out, char *secret);

/* 0, ERR_NOT_FOUND, err. */
int jointoken_get(struct db *db, int64_t id, int64_t now, struct join_token *t);

int jointoken_list(struct db *db, const struct jointoken_filter *f, int64_t now, int64_t after,
    int limit, struct join_token *out, int *n);

/* Abort an issued or in-flight token (an in-flight enrollment's client is discarded). 0,
 * ERR_NOT_FOUND, ERR_CONFLICT (consumed, expired or aborted already: *t says which), err. */
int jointoken_abort(
    struct db *db, int64_t id, const char *actor, int64_t now, struct join_token *t);

/* Revert an in-flight token whose ack did not come (issued again, attempt + 1, audited as
 * join_token.revert by actor) and discard the unacknowledged client. A token no longer in
 * flight is left alone. Runs inside the caller's transaction. 0 or err. */
int jointoken_revert(struct db *db, int64_t id, const char *actor, int64_t now);

/* Write down what time decided: issued tokens past expiry become expired; in-flight tokens
 * past their ack deadline go back to issued with one more attempt. At most max of each;
 * returns how many changed, or err. Each change is audited with actor "sweeper". */
int jointoken_sweep(struct db *db, int64_t now, int max);

#endif
