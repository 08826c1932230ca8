/* The private halves of our token keys on disk: <state_dir>/keys/<kid>.pem, mode 0600 in a
 * directory of mode 0700, written durably (a temporary file synced, renamed, the directory
 * synced), read back at start, removed once their key is retired. Paths in the store are
 * relative to the state dir ("keys/<kid>.pem"). */
#ifndef MANAGER_KEYFILE_H
#define MANAGER_KEYFILE_H

#include <stddef.h>

#include "../proto/jwtkey.h"

#define KEYFILE_PATH_MAX 4096
#define KEYFILE_DIR "keys" /* in the state dir */

/* Write the private PEM of kid (len bytes) durably; on success rel (rellen bytes) gets
 * "keys/<kid>.pem". 0 or ERR_DB (logged); a failure leaves no temporary file behind. */
int keyfile_write(
    const char *state_dir, const char *kid, const char *pem, size_t len, char *rel, size_t rellen);

/* The signer of kid (free with jwt_signer_free()) from its private PEM file rel (relative to
 * state_dir, or absolute). 0, ERR_NOMEM, or ERR_DB (logged). */
int keyfile_read(const char *state_dir, const char *rel, const char *kid, struct jwt_signer **out);

/* Best effort (a failure is logged): remove the private file rel (nothing for ""), whose key
 * was retired or whose row was rolled back. */
void keyfile_remove(const char *state_dir, const char *rel);

#endif
