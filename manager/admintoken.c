/* The first start's admin token: made once, written to the state dir, printed once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../db/admintoken.h"
#include "../db/audit.h"
#include "../db/db.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "admintoken.h"

/* Write the token file beside and rename it into place, syncing file and directory: after a
 * crash the file is either absent or whole. */
static int
write_token_file(const char *state_dir, const char *secret)
{
	char path[4096], tmp[4100];
	int fd, dfd, ok;

	snprintf(path, sizeof(path), "%s/admin.token", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	ok = write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret) &&
	    write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	close(fd);
	if (ok && rename(tmp, path) == 0 &&
	    (dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		ok = fsync(dfd) == 0;
		close(dfd);
	} else {
		ok = 0;
	}
	if (!ok)
		log_error("cannot write %s: %s", path, strerror(errno));
	return ok ? 0 : -1;
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
