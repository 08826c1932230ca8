/* The store's join tokens (api.md "Join tokens"): the rows, their states and the single
 * transitions between them: issued → in_flight(address, ack) → consumed(address, time);
 * issued → expired past expires_at; issued | in_flight → aborted; in_flight → issued (one
 * attempt more). A transition names the state it starts from, so of two racing ones exactly one
 * wins; each returns 1 when the token moved, 0 when it was not in that state (any more), or a
 * negative enum err. Secrets never reach the store: tokens and acks are found by the SHA-256
 * the caller computed. The lifecycle built on these (secrets, audit, the sweep) is
 * manager/jointoken.h. */
#ifndef DB_JOINTOKEN_H
#define DB_JOINTOKEN_H

#include <jansson.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/pssid.h"
#include "../lib/text.h"

struct db;

#define JOINTOKEN_NAME_MAX 64
#define JOINTOKEN_LABELS_MAX 16
#define JOINTOKEN_LABEL_LEN 63
#define JOINTOKEN_LABELS_STRLEN 2048

enum jointoken_state { JT_ISSUED, JT_IN_FLIGHT, JT_CONSUMED, JT_EXPIRED, JT_ABORTED };

struct join_token {
	int64_t id;
	char name[TEXT_NAME_BYTES(JOINTOKEN_NAME_MAX) + 1];
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
	char created_by[TEXT_ACTOR_MAX + 1];
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
 * 63 characters) and write its canonical text (sorted keys) to out (JOINTOKEN_LABELS_STRLEN):
 * the form the store filters on. NULL, or the reason. */
const char *jointoken_labels_check(json_t *labels, char *out);

/* Store a new issued token whose secret hashes to hash, created by actor, expiring at
 * now + spec->ttl; the row as stored goes to *out. 0, ERR_CONFLICT (hash in use), err. */
int jointoken_insert(struct db *db, const char *hash, const struct jointoken_spec *spec,
    const char *actor, int64_t now, struct join_token *out);

/* The token with this id, or whose secret hashes to hash, with its state as it is at now.
 * 0, ERR_NOT_FOUND, err. */
int jointoken_get(struct db *db, int64_t id, int64_t now, struct join_token *t);
int jointoken_get_by_hash(struct db *db, const char *hash, int64_t now, struct join_token *t);

/* Tokens matching f (states as at now) with id > after, by id, at most limit, into out; *n is
 * set. 0 or err. */
int jointoken_list(struct db *db, const struct jointoken_filter *f, int64_t now, int64_t after,
    int limit, struct join_token *out, int *n);

/* The ids of at most max tokens, into ids (*n set), that time has moved on by now: issued ones
 * past their expiry, soonest expiry first (jointoken_list_expired), and in-flight ones whose
 * ack deadline passed, soonest deadline first (jointoken_list_ack_lapsed). 0 or err. */
int jointoken_list_expired(struct db *db, int64_t now, int max, int64_t *ids, int *n);
int jointoken_list_ack_lapsed(struct db *db, int64_t now, int max, int64_t *ids, int *n);

/* How many in-flight tokens wait for an ack whose deadline is after now, into *n. 0 or err. */
int jointoken_count_pending_acks(struct db *db, int64_t now, int64_t *n);

/* How many tokens are in each state at now (effective states: an issued token past its expiry
 * is expired), into n[] by enum jointoken_state. 0 or err. */
int jointoken_count_by_state(struct db *db, int64_t now, int64_t n[5]);

/* The in-flight token whose ack hashes to ack_hash, if its deadline is after now: its id and
 * its enrollment's client (pssid, PSSID_MAX + 1). 0, ERR_NOT_FOUND, err. */
int jointoken_get_by_ack(
    struct db *db, const char *ack_hash, int64_t now, int64_t *id, char *pssid);

/* from (issued or in_flight) → in_flight for caller, acknowledged by the ack that hashes to
 * ack_hash before deadline. 1, 0, ERR_CONFLICT (ack_hash is another token's pending ack), err. */
int jointoken_set_in_flight(struct db *db, int64_t id, enum jointoken_state from,
    const char *caller, int64_t deadline, const char *ack_hash, int64_t now);

/* in_flight → consumed at the in-flight address; the ack is spent. 1, 0 or err. */
int jointoken_set_consumed(struct db *db, int64_t id, int64_t now);

/* in_flight → issued, one attempt more, without address, deadline or ack. 1, 0 or err. */
int jointoken_set_issued(struct db *db, int64_t id, int64_t now);

/* issued → expired. 1, 0 or err. */
int jointoken_set_expired(struct db *db, int64_t id, int64_t now);

/* issued | in_flight → aborted. 1, 0 or err. */
int jointoken_set_aborted(struct db *db, int64_t id, int64_t now);

#endif
