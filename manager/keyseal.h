/* The private half of a token signing key of ours as its row keeps it: the signer's PKCS#8 PEM
 * sealed under the store secret with the kid as associated data (lib/seal.h), so a sealed key
 * copied into another row does not open. Functions return 0 or a negative enum err. */
#ifndef MANAGER_KEYSEAL_H
#define MANAGER_KEYSEAL_H

#include "../lib/seal.h"
#include "../proto/jwtkey.h"

struct db;

/* The private half of s sealed for its kid under key into *sealed (free()). 0, ERR_NOMEM,
 * ERR_DB (logged). */
int keyseal_seal(const struct jwt_signer *s, const unsigned char key[SEAL_KEY_LEN], char **sealed);

/* The signer of kid (free with jwt_signer_free()) from its row's sealed private half, opened
 * under key. 0, ERR_NOMEM, or ERR_DB when the row has none, or it does not open (another secret
 * sealed it, or it was altered), or it holds no Ed25519 key (each logged, naming the kid and
 * never the secret), or the store's err. */
int keyseal_open(
    struct db *db, const unsigned char key[SEAL_KEY_LEN], const char *kid, struct jwt_signer **out);

#endif
