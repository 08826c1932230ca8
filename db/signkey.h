/* The store's token keys (table signing_keys), one row per kid: our Ed25519 keys (public key
 * PEM, the private half sealed under the store secret: lib/seal.h) and outside issuers' public
 * keys (imported: no private half). Rows written before the private halves moved into the store
 * name a key file of the state dir instead, until the manager's start seals them
 * (manager/keyupgrade.h) and forgets the file. States: active (the one key that signs), verify (verifies until
 * verify_until; imported keys have none), retired (trusted by nothing; the row stays so that the
 * kid is never reused). Key material, files and the in-memory key set are manager/signkeys.h's. */
#ifndef DB_SIGNKEY_H
#define DB_SIGNKEY_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/jwtkey.h"

struct db;

enum signkey_state { SIGNKEY_ACTIVE, SIGNKEY_VERIFY, SIGNKEY_RETIRED };

/* One key as the store has it. */
struct signkey {
	char kid[JWT_KID_MAX + 1];
	enum jwt_alg alg;
	enum signkey_state state;
	int imported; /* an outside issuer's public key (no private half here) */
	int sealed; /* ours with its private half sealed in the row (0: a key file from before, or
		     * erased with its retirement) */
	int64_t created_at;
	int64_t verify_until; /* 0: none (the active key, imported keys) */
	int64_t retired_at; /* 0: not retired */
	/* Imported keys: "" or the issuer and audience their tokens must carry (jwt_keyset_pin()). */
	char pinned_iss[JWT_PIN_MAX + 1];
	char pinned_aud[JWT_PIN_MAX + 1];
};

const char *signkey_state_str(enum signkey_state s);
int signkey_state_parse(const char *s, enum signkey_state *out);

/* Called for each row of a walk with the key, its public key PEM and the private key file a row
 * from before names ("" for any other), all borrowed for the call; it must not use the store. 0 goes on, 1 ends
 * the walk there (which returns 0), a negative err ends it with that err. */
typedef int (*signkey_fn)(
    const struct signkey *k, const char *public_pem, const char *file, void *arg);

/* Walk every key that is not retired: the active one first, then the newest first. 0 or err. */
int signkey_each(struct db *db, signkey_fn fn, void *arg);

/* Walk our keys in verify state whose verify_until is before now, the earliest first. 0 or
 * err. */
int signkey_each_due(struct db *db, int64_t now, signkey_fn fn, void *arg);

/* The key kid in any state, retired included; the key file a row from before names ("" for any
 * other) into file (filelen bytes; file may be NULL). 0, ERR_NOT_FOUND, err. */
int signkey_get(struct db *db, const char *kid, struct signkey *k, char *file, size_t filelen);

/* How many keys are active (one in a sound store, 0 before the first), or err; the first of them
 * into *k and the key file it names (as signkey_get()) into file (filelen bytes; file may be NULL). */
int signkey_active(struct db *db, struct signkey *k, char *file, size_t filelen);

/* Each change below that leaves a key trusted queues KEY for it in the agents' outbox, each
 * that ends its trust KEY_RETIRE (db/agentdelta.h), in the caller's transaction. */

/* Store a new key: kid, alg, state, created_at, verify_until and the pins ("": NULL) of k;
 * public_pem; sealed is its private half sealed for its kid (lib/seal.h; NULL: an imported
 * key). 0, ERR_CONFLICT (kid in use, or a second active key), err. */
int signkey_insert(
    struct db *db, const struct signkey *k, const char *public_pem, const char *sealed);

/* The sealed private half of kid into buf (len bytes, its NUL included). 0, ERR_NOT_FOUND (no
 * such kid, or none sealed: imported, retired, or a row from before), ERR_LIMIT (longer than
 * len - 1: not something seal_text() made), err. */
int signkey_sealed(struct db *db, const char *kid, char *buf, size_t len);

/* Walk every row, retired ones included, that still names a key file (rows from before), in
 * kid order. 0 or err (as signkey_each()). */
int signkey_each_file(struct db *db, signkey_fn fn, void *arg);

/* Keep sealed (lib/seal.h), the private half of a row from before, in the row; "" for a retired
 * key, whose private half nothing needs. The row still names its file until
 * signkey_file_forget(). 0, ERR_NOT_FOUND (no such kid, or sealed already), err. */
int signkey_seal(struct db *db, const char *kid, const char *sealed);

/* The row of kid no longer names a key file (removed once its private half was sealed). 0,
 * err. */
int signkey_file_forget(struct db *db, const char *kid);

/* active → verify until until. 1 when kid moved, 0 when it was not the active key, or err. */
int signkey_set_verify(struct db *db, const char *kid, int64_t until);

/* Retire kid at now (whatever its state); its sealed private half is erased. 0, ERR_NOT_FOUND,
 * err. */
int signkey_set_retired(struct db *db, const char *kid, int64_t now);

/* Delete the row of kid (imported keys: their kids are not ours to keep). 0, ERR_NOT_FOUND,
 * err. */
int signkey_delete(struct db *db, const char *kid);

#endif
