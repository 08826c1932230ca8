/* The first start's admin token: made once, written to the state dir, printed once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../db/admintoken.h"
#include "../db/audit.h"
#include "../db/db.h"
#include "../lib/atomicfile.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "admintoken.h"

/* Write the token file (0600) whole or not at all: after a crash it is either absent or whole.
 * The temporary file is created O_EXCL | O_NOFOLLOW, so a symlink planted in the state dir
 * cannot redirect the token elsewhere. */
static int
write_token_file(const char *state_dir, const char *secret)
{
	char path[4096], line[SECRET_STRLEN + 1];
	int n, saved;

	snprintf(path, sizeof(path), "%s/admin.token", state_dir);
	n = snprintf(line, sizeof(line), "%s\n", secret);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		log_error("cannot write %s: the token is too long", path);
		return -1;
	}
	n = atomicfile_write(path, line, (size_t)n, 0600);
	saved = errno;
	explicit_bzero(line, sizeof(line));
	if (n < 0) {
		log_error("cannot write %s: %s", path, strerror(saved));
		return -1;
	}
	return 0;
}

int
admintoken_bootstrap(struct db *db, const char *state_dir, int64_t now)
{
	struct admin_token t;
	char secret[SECRET_STRLEN], done[8], object[48];
	int rv;

	if (db_meta_get(db, "bootstrapped", done, sizeof(done)) == 0)
		return 0;
	/* The file is written before the commit: a crash in between leaves a token file whose
	 * token does not exist, and the next start makes a new one. Never the reverse. */
	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = admintoken_create(
		 db, "bootstrap", ADMINTOKEN_ADMIN, 0, "snaptun-manager", now, &t, secret)) < 0 ||
	    (rv = db_meta_set(db, "bootstrapped", "1")) < 0 ||
	    snprintf(object, sizeof(object), "admin_token:%lld", (long long)t.id) < 0 ||
	    (rv = audit_append(db, now, "snaptun-manager", "admin_token.create", object, NULL)) <
		0 ||
	    (rv = write_token_file(state_dir, secret)) < 0) {
		db_rollback(db);
		return rv < 0 ? rv : ERR_DB;
	}
	if ((rv = db_commit(db)) < 0)
		return rv;
	printf("snaptun-manager: bootstrap admin token (shown once, also in %s/admin.token):\n"
	       "%s\n",
	    state_dir, secret);
	fflush(stdout);
	return 0;
}
