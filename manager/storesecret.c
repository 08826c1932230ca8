/* The store secret (see storesecret.h). */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../db/db.h"
#include "../lib/atomicfile.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/secret.h"
#include "storesecret.h"

/* What the operator does when this manager's secret is not the one the store's keys are
 * sealed with (or it has none). */
#define COPY_HINT \
	"copy the store secret of a manager of this store (its --store-secret file, by default " STORESECRET_FILE \
	" in its state dir) to %s (mode 0600) and start again"

/* The store's secret id into id: 0, or ERR_NOT_FOUND when it has none yet, or err. */
static int
stored_id(struct db *db, char id[SEAL_KEY_ID_STRLEN])
{
	return db_meta_get(db, STORESECRET_META, id, SEAL_KEY_ID_STRLEN);
}

/* A new secret into key, written to path durably. 0, or ERR_DB with why. */
static int
make(const char *path, unsigned char key[SEAL_KEY_LEN], char *why, size_t len)
{
	if (secret_random(key, SEAL_KEY_LEN) < 0) {
		snprintf(why, len, "no randomness for a new store secret %s", path);
		return ERR_DB;
	}
	if (atomicfile_write(path, key, SEAL_KEY_LEN, 0600) < 0) {
		snprintf(
		    why, len, "cannot write the new store secret %s: %s", path, strerror(errno));
		return ERR_DB;
	}
	log_info("created the store secret %s (32 random bytes that seal the signing keys in the "
		 "store): back it up, and give every other manager of this store a copy",
	    path);
	return 0;
}

/* Read the secret file path into key (32 bytes, owner-only). 0, ERR_NOT_FOUND (absent),
 * ERR_INVALID or ERR_DB with why. */
static int
read_secret(const char *path, unsigned char key[SEAL_KEY_LEN], char *why, size_t len)
{
	struct stat st;
	off_t size = -1;

	if (atomicfile_read(path, key, SEAL_KEY_LEN, &size) < 0) {
		if (errno == ENOENT)
			return ERR_NOT_FOUND;
		if (errno == EINVAL && size >= 0) {
			snprintf(why, len,
			    "the store secret %s has %lld bytes; a store secret is %d random bytes",
			    path, (long long)size, SEAL_KEY_LEN);
			return ERR_INVALID;
		}
		snprintf(why, len, "cannot read the store secret %s: %s%s", path, strerror(errno),
		    errno == ELOOP ? " (a symlink is not followed)" : "");
		return errno == ELOOP || errno == EINVAL ? ERR_INVALID : ERR_DB;
	}
	/* Read first, checked after: a file swapped in between still went through O_NOFOLLOW
	 * and its size check, and is refused here if others may read it. */
	if (lstat(path, &st) < 0) {
		snprintf(why, len, "cannot stat the store secret %s: %s", path, strerror(errno));
		return ERR_DB;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(why, len,
		    "the store secret %s has mode %04o: others than its owner may read it (fix: "
		    "chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
		return ERR_INVALID;
	}
	return 0;
}

int
storesecret_load(
    struct db *db, const char *path, unsigned char key[SEAL_KEY_LEN], char *why, size_t len)
{
	char have[SEAL_KEY_ID_STRLEN], mine[SEAL_KEY_ID_STRLEN];
	int rv, sealed;

	if ((rv = stored_id(db, have)) < 0 && rv != ERR_NOT_FOUND) {
		snprintf(why, len, "cannot read the store's secret id: %s", err_str(rv));
		goto fail;
	}
	sealed = rv == 0;
	if ((rv = read_secret(path, key, why, len)) == ERR_NOT_FOUND) {
		if (!sealed && (rv = make(path, key, why, len)) == 0)
			return 0;
		if (!sealed)
			goto fail;
		snprintf(why, len,
		    "the store's signing keys are sealed with a store secret and %s does not exist: " COPY_HINT,
		    path, path);
		goto fail;
	}
	if (rv < 0)
		goto fail;
	if (!sealed)
		return 0;
	rv = ERR_DB;
	if (seal_key_id(key, mine) < 0) {
		snprintf(why, len, "cannot compute the id of the store secret %s", path);
		goto fail;
	}
	if (strcmp(have, mine) != 0) {
		snprintf(why, len,
		    "the store's signing keys are sealed with another secret than %s (id %s, the "
		    "store's is %s): " COPY_HINT,
		    path, mine, have, path);
		rv = ERR_DENIED;
		goto fail;
	}
	return 0;
fail:
	gnutls_memset(key, 0, SEAL_KEY_LEN);
	return rv;
}

int
storesecret_claim(struct db *db, const unsigned char key[SEAL_KEY_LEN])
{
	char have[SEAL_KEY_ID_STRLEN], mine[SEAL_KEY_ID_STRLEN];
	int rv;

	if (seal_key_id(key, mine) < 0)
		return ERR_DB;
	if ((rv = stored_id(db, have)) == ERR_NOT_FOUND)
		return db_meta_set(db, STORESECRET_META, mine);
	if (rv < 0)
		return rv;
	if (strcmp(have, mine) != 0) {
		log_error(
		    "another manager sealed this store's signing keys with another store secret "
		    "(id %s) since this one started with its own (id %s): restart this manager "
		    "with a copy of that secret",
		    have, mine);
		return ERR_DENIED;
	}
	return 0;
}
