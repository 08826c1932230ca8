/* The store secret: the key that seals the private halves of the token signing keys in the
 * store (lib/seal.h), so that every manager of a store signs with the keys any of them made.
 * It is 32 random bytes in a file of each manager (--store-secret, by default
 * <state_dir>/store.secret, mode 0600), made on the first start of a store that has sealed
 * nothing yet; every other manager of that store needs a copy. The store keeps only the
 * secret's id (lib/seal.h seal_key_id(), meta row STORESECRET_META), set in the transaction of
 * the first seal: a manager started with another secret, or none, refuses to start and says
 * what to copy where, instead of sealing a new key the others cannot open. Neither the secret
 * nor anything derived from it but the id is ever logged. */
#ifndef MANAGER_STORESECRET_H
#define MANAGER_STORESECRET_H

#include <stddef.h>

#include "../lib/seal.h"

struct db;

#define STORESECRET_FILE "store.secret" /* in the state dir */
#define STORESECRET_META "store_secret_id"

/* Load the secret file path into key and check it against the id the store keeps; when path
 * does not exist and the store has sealed nothing, make it (32 random bytes, 0600, written
 * durably). 0; ERR_DENIED (a secret with another id), ERR_NOT_FOUND (path absent while the
 * store has sealed keys), ERR_INVALID (not 32 bytes, not a regular file, readable or writable
 * by group or others), ERR_DB (the file or the store cannot be read, or written), each with in
 * why (len bytes) a sentence for the operator naming path and what to do; key is zeroed then. */
int storesecret_load(
    struct db *db, const char *path, unsigned char key[SEAL_KEY_LEN], char *why, size_t len);

/* In the caller's transaction, before its first seal under key: the store records key's id when
 * it has none, or checks that it is key's (another manager may have sealed first since
 * storesecret_load()). 0, ERR_DENIED (logged), err. */
int storesecret_claim(struct db *db, const unsigned char key[SEAL_KEY_LEN]);

#endif
