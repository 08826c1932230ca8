/* The token keys' lifecycle and the in-memory key set: the Ed25519 key that signs the tunnel
 * tokens we issue (state active, its private half sealed in its row under the store secret:
 * keyseal.h, storesecret.h), our earlier keys that still verify the tokens they signed (state
 * verify, until verify_until), and outside issuers' public keys imported by an operator
 * (keyimport.h; state verify, no private half, no verify_until). Generate, rotate, import,
 * delete, retire; retired keys stay in the store (their kids are never reused, db/signkey.h)
 * but are trusted by nothing, and their private halves are erased. Every manager of a store
 * signs with the store's active key: a change made through another manager is taken up by
 * signkeys_reload() when the agents' outbox brings it.
 *
 * Every change is one transaction of its own with its audit event; the in-memory key set and
 * signer are rebuilt from the store beside the old ones and swapped in only once the commit has
 * succeeded, so they always match what the store says. Functions return 0 or a negative
 * enum err (lib/err.h). */
#ifndef MANAGER_SIGNKEYS_H
#define MANAGER_SIGNKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "../db/signkey.h"
#include "../lib/seal.h"
#include "../proto/jwtkey.h"
#include "keyimport.h"

struct db;

/* The longest lifetime of a token signed with our keys (24 h). Whoever issues tokens must cap
 * their exp at now + SIGNKEYS_TOKEN_TTL_MAX: a rotated-out key verifies exactly that long after
 * the rotation (verify_until), then the sweep retires it. */
#define SIGNKEYS_TOKEN_TTL_MAX (24 * 3600)

/* Our kids: "k-" and 12 base64url characters (72 random bits). */
#define SIGNKEYS_KID_PREFIX "k-"
#define SIGNKEYS_KID_RANDOM 9

/* The keys in use. Read the members; change them only through the functions below. The
 * pointers (keyset, keys, signer) stay valid until the next change. */
struct signkeys {
	struct db *db;
	unsigned char secret[SEAL_KEY_LEN]; /* the store secret (storesecret.h) */
	struct jwt_keyset *keyset; /* every non-retired key, for jwt_verify() */
	struct signkey *keys; /* the same keys: the active one first, then the newest first */
	size_t n;
	struct jwt_signer *signer; /* the active key */
	uint64_t generation; /* + 1 on every change: whoever copies the keys can tell */
};

/* Load the keys of the store: first the key files of state_dir that rows from before name are
 * sealed into the store (keyupgrade.h), then every non-retired key goes into the key set and
 * the active key's private half, opened with secret (storesecret_load()'s, copied), into the
 * signer. On the very first start (no active key) generate one, committed with the audit event
 * key.create (by snaptun-manager). The caller frees *out with signkeys_close(). 0, or ERR_DB
 * when a key is unusable or does not open with secret, ERR_DENIED (the store records another
 * secret), ERR_BUSY, ERR_NOMEM (all logged). */
int signkeys_open(struct db *db, const char *state_dir, const unsigned char secret[SEAL_KEY_LEN],
    int64_t now, struct signkeys **out);

/* Read the keys again after another manager of the store changed them (the agents' outbox
 * brought a key row): the key set from the store, and the signer too when another key is
 * active now. Outside a transaction. 0, or err (logged): the keys in use stay as they were. */
int signkeys_reload(struct signkeys *sk);
void signkeys_close(struct signkeys *sk);

/* The non-retired key with this kid, or NULL. */
const struct signkey *signkeys_get(const struct signkeys *sk, const char *kid);

/* At most this many of our earlier keys verify at once (each for SIGNKEYS_TOKEN_TTL_MAX after
 * the rotation that ended it): a rotation beyond is refused until the oldest has run out, or
 * is deleted. Agents keep every key that verifies; this bounds them however often an
 * administrator rotates. */
#define SIGNKEYS_VERIFY_MAX 16

/* Seconds until a rotation may go: 0 now, or when SIGNKEYS_VERIFY_MAX of our keys in verify
 * state are still valid at now, until the first of them ends. */
int64_t signkeys_rotate_wait(const struct signkeys *sk, int64_t now);

/* Replace the active key with a new Ed25519 key; the previous active key goes to verify with
 * verify_until = now + SIGNKEYS_TOKEN_TTL_MAX. Audit key.rotate by actor. The new key goes to
 * *out. Runs its own transaction (call it outside one). 0, ERR_LIMIT (signkeys_rotate_wait()
 * is not 0: nothing changed), ERR_BUSY, ERR_DB, ERR_NOMEM. */
int signkeys_rotate(struct signkeys *sk, const char *actor, int64_t now, struct signkey *out);

/* Trust an outside issuer's public key: kid, alg and pem (len bytes) as keyimport_check() wants
 * them, kid unused by any key, retired ones included. The key is stored in canonical PEM form,
 * state verify, and audited as key.import by actor; it goes to *out. Own transaction.
 * 0, ERR_INVALID (e says which input and why), ERR_CONFLICT (kid in use; e->field "kid"),
 * ERR_BUSY, ERR_DB, ERR_NOMEM. */
int signkeys_import(struct signkeys *sk, const char *kid, const char *alg, const char *pem,
    size_t len, const char *actor, int64_t now, struct signkey *out, struct keyimport_error *e);

/* signkeys_import() of a key pinned to the issuer iss and the audience aud (NULL: that one not
 * pinned; keyimport_pins_check() decides, e->field "iss" or "aud"): the tokens it verifies must
 * carry them (jwt_keyset_pin()). Stored with the key, audited, pushed to the agents. */
int signkeys_import_pinned(struct signkeys *sk, const char *kid, const char *alg, const char *pem,
    size_t len, const char *iss, const char *aud, const char *actor, int64_t now,
    struct signkey *out, struct keyimport_error *e);

/* Stop trusting a key: an imported key is deleted from the table; one of ours in verify state
 * is retired now (and its private half erased). Audit key.delete by actor. *out (may be NULL)
 * gets the key as it was. Own transaction. 0, ERR_NOT_FOUND (no such kid, or retired already),
 * ERR_CONFLICT (the active key: rotate first), ERR_BUSY, ERR_DB, ERR_NOMEM. */
int signkeys_delete(
    struct signkeys *sk, const char *kid, const char *actor, int64_t now, struct signkey *out);

/* For the sweep: our keys in verify state past verify_until (now > verify_until) are retired,
 * each audited as key.retire by "sweeper", their private halves erased. Touches the store only
 * when a key is due. Returns how many were retired, or err. */
int signkeys_retire_due(struct signkeys *sk, int64_t now);

#endif
