/* Key files into sealed rows (see keyupgrade.h). */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../db/db.h"
#include "../db/signkey.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "keyfile.h"
#include "keyseal.h"
#include "keyupgrade.h"
#include "storesecret.h"

/* The rows that name a file, gathered before the first write (a walk must not write). */
struct filerows {
	struct filerow {
		struct signkey k;
		char *rel;
	} * rows;
	size_t n, cap;
};

static int
filerows_add(const struct signkey *k, const char *pem, const char *file, void *arg)
{
	struct filerows *f = arg;
	struct filerow *rows;

	(void)pem;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		if ((rows = reallocarray(f->rows, f->cap, sizeof(*rows))) == NULL)
			return ERR_NOMEM;
		f->rows = rows;
	}
	if ((f->rows[f->n].rel = strdup(file)) == NULL)
		return ERR_NOMEM;
	f->rows[f->n++].k = *k;
	return 0;
}

static void
filerows_free(struct filerows *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->rows[i].rel);
	free(f->rows);
	memset(f, 0, sizeof(*f));
}

/* signkey_seal(), where a row another manager sealed meanwhile is as good. */
static int
seal_once(struct db *db, const char *kid, const char *sealed)
{
	int rv = signkey_seal(db, kid, sealed);

	return rv == ERR_NOT_FOUND ? 0 : rv;
}

/* The private half of one row that names a file, sealed into it. */
static int
seal_row(struct db *db, const char *state_dir, const unsigned char key[SEAL_KEY_LEN],
    const struct filerow *r)
{
	struct jwt_signer *s = NULL;
	char *sealed = NULL;
	int rv;

	if (r->k.sealed)
		return 0; /* sealed by a start that crashed before removing the file */
	if (r->k.state == SIGNKEY_RETIRED)
		return seal_once(db, r->k.kid, "");
	if ((rv = keyfile_read(state_dir, r->rel, r->k.kid, &s)) < 0) {
		if (rv == ERR_NOMEM || r->k.state == SIGNKEY_ACTIVE)
			return rv;
		log_warn("the signing key %s only verifies tokens and its private key file is "
			 "unusable: it keeps verifying, with no private half in the store",
		    r->k.kid);
		return seal_once(db, r->k.kid, "");
	}
	if ((rv = keyseal_seal(s, key, &sealed)) == 0)
		rv = seal_once(db, r->k.kid, sealed);
	jwt_signer_free(s);
	free(sealed);
	return rv;
}

/* Remove the files of kids whose private halves are in the store from <state_dir>/keys, and the
 * directory once empty. Best effort: what cannot go is logged and stays. */
static void
sweep_dir(struct db *db, const char *state_dir)
{
	char dir[KEYFILE_PATH_MAX], kid[JWT_KID_MAX + 1], file[KEYFILE_PATH_MAX],
	    rel[KEYFILE_PATH_MAX];
	struct signkey k;
	struct dirent *e;
	size_t len;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" KEYFILE_DIR, state_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (len <= 4 || len - 4 > JWT_KID_MAX || strcmp(e->d_name + len - 4, ".pem") != 0)
			continue;
		snprintf(kid, sizeof(kid), "%.*s", (int)(len - 4), e->d_name);
		/* A file of a kid the store does not know, or still names, is not ours to drop. */
		if (signkey_get(db, kid, &k, file, sizeof(file)) < 0 || file[0] != '\0' ||
		    k.imported)
			continue;
		snprintf(rel, sizeof(rel), KEYFILE_DIR "/%s", e->d_name);
		keyfile_remove(state_dir, rel);
	}
	closedir(d);
	if (rmdir(dir) == 0)
		log_info("the signing keys are sealed in the store: removed %s", dir);
	else if (errno != ENOTEMPTY && errno != EEXIST)
		log_warn("cannot remove the directory %s: %s", dir, strerror(errno));
}

int
keyupgrade_run(struct db *db, const char *state_dir, const unsigned char key[SEAL_KEY_LEN])
{
	struct filerows f = {0};
	size_t i, nsealed = 0;
	int rv;

	assert(!db_in_tx(db));
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = signkey_each_file(db, filerows_add, &f)) < 0)
		goto fail;
	for (i = 0; i < f.n; i++)
		nsealed += !f.rows[i].k.sealed && f.rows[i].k.state != SIGNKEY_RETIRED;
	if (nsealed > 0 && (rv = storesecret_claim(db, key)) < 0)
		goto fail;
	for (i = 0; i < f.n; i++)
		if ((rv = seal_row(db, state_dir, key, &f.rows[i])) < 0) {
			log_error(
			    "cannot move the signing key %s from its file %s/%s into the store "
			    "(nothing was changed)",
			    f.rows[i].k.kid, state_dir, f.rows[i].rel);
			goto fail;
		}
	if ((rv = db_commit(db)) < 0)
		goto out;
	if (nsealed > 0)
		log_info("sealed the private halves of %zu signing keys into the store", nsealed);
	/* Committed: the files are copies now. A failure below leaves a file the next start
	 * removes. */
	for (i = 0; i < f.n; i++) {
		keyfile_remove(state_dir, f.rows[i].rel);
		if (signkey_file_forget(db, f.rows[i].k.kid) < 0)
			log_warn("the row of the signing key %s still names its removed file %s",
			    f.rows[i].k.kid, f.rows[i].rel);
	}
	sweep_dir(db, state_dir);
	goto out;
fail:
	db_rollback(db);
out:
	filerows_free(&f);
	return rv;
}
