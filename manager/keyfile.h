/* The key files in which managers before the store secret kept the private halves of our token
 * keys: <state_dir>/keys/<kid>.pem, mode 0600, named by their rows relative to the state dir
 * ("keys/<kid>.pem"). Read once, when keyupgrade.h seals them into the store, then removed. */
#ifndef MANAGER_KEYFILE_H
#define MANAGER_KEYFILE_H

#include <stddef.h>

#include "../proto/jwtkey.h"

#define KEYFILE_PATH_MAX 4096
#define KEYFILE_DIR "keys" /* in the state dir */

/* The signer of kid (free with jwt_signer_free()) from its private PEM file rel (relative to
 * state_dir, or absolute). 0, ERR_NOMEM, or ERR_DB (logged). */
int keyfile_read(const char *state_dir, const char *rel, const char *kid, struct jwt_signer **out);

/* Best effort (a failure is logged): remove the key file rel (nothing for ""; one already gone
 * is no failure), whose private half is sealed in the store or erased. */
void keyfile_remove(const char *state_dir, const char *rel);

#endif
