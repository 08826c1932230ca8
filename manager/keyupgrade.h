/* Moving the private halves of our token keys out of the state dir's key files
 * (<state_dir>/keys/<kid>.pem, where managers kept them before the store secret: keyfile.h)
 * into their rows, sealed under the store secret (keyseal.h). Run at every start, before the
 * keys are loaded; it does nothing once nothing is left to move.
 *
 * Every row that still names a file is sealed in one transaction: the file's key for a key in
 * use, an erased mark ("") for a retired one (its file went with its retirement) or for a key
 * that only verifies and whose file is gone (nothing signs with it again). Only after that
 * commit are the files removed and forgotten by their rows: a crash in between leaves rows
 * sealed and files behind, and the next start removes them. Key files of sealed kids left in a
 * state dir that was copied from another manager's are removed too, and keys/ once empty. */
#ifndef MANAGER_KEYUPGRADE_H
#define MANAGER_KEYUPGRADE_H

#include "../lib/seal.h"

struct db;

/* Seal every key file of state_dir's store rows under key, then remove the files. 0, or
 * ERR_DB (a key in use whose file cannot be read: nothing changed), ERR_DENIED (another
 * manager sealed with another secret since), ERR_BUSY, ERR_NOMEM; logged. Call it outside a
 * transaction. */
int keyupgrade_run(struct db *db, const char *state_dir, const unsigned char key[SEAL_KEY_LEN]);

#endif
