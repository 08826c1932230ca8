/* manager/storesecret.h against a real SQLite store and files: the first load makes the secret
 * (32 bytes, 0600) and the store records its id only when a seal claims it; the same secret
 * loads again; another secret, a missing one, one others may read and one of another size are
 * refused with a sentence that names the file and what to copy where, never the secret; a
 * claim by another secret is refused. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../db/db.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../lib/seal.h"
#include "../../manager/storesecret.h"
#include "check.h"

static int
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len && fchmod(fd, mode) == 0;
	close(fd);
	return ok ? 0 : -1;
}

int
main(void)
{
	unsigned char key[SEAL_KEY_LEN], again[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
	char path[512], copy[600], bad[600], why[2048], id[SEAL_KEY_ID_STRLEN],
	    want[SEAL_KEY_ID_STRLEN];
	struct db *db;
	struct stat st;
	int rv;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/store.db", check_tmpdir());
	if (db_open(path, &db) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/store.secret", check_tmpdir());
	snprintf(copy, sizeof(copy), "%s/copy.secret", check_tmpdir());
	snprintf(bad, sizeof(bad), "%s/bad.secret", check_tmpdir());

	rv = storesecret_load(db, path, key, why, sizeof(why));
	CHECK(rv == 0 && stat(path, &st) == 0 && st.st_size == SEAL_KEY_LEN &&
		(st.st_mode & 0777) == 0600,
	    "a store with nothing sealed: the secret is made, 32 bytes, 0600 (%s)", why);
	CHECK_EQ_INT(db_meta_get(db, STORESECRET_META, id, sizeof(id)), ERR_NOT_FOUND,
	    "  and the store records nothing before a seal");
	CHECK(storesecret_claim(db, key) == 0 &&
		db_meta_get(db, STORESECRET_META, id, sizeof(id)) == 0 &&
		seal_key_id(key, want) == 0 && strcmp(id, want) == 0,
	    "a claim records the secret's id (%s)", id);
	CHECK_EQ_INT(storesecret_claim(db, key), 0, "  and a second claim by it is fine");
	CHECK(storesecret_load(db, path, again, why, sizeof(why)) == 0 &&
		memcmp(key, again, sizeof(key)) == 0,
	    "the same file loads again, the same secret");

	memset(other, 9, sizeof(other));
	write_file(copy, other, sizeof(other), 0600);
	rv = storesecret_load(db, copy, again, why, sizeof(why));
	CHECK(rv == ERR_DENIED && strstr(why, "sealed with another secret") != NULL &&
		strstr(why, copy) != NULL && strstr(why, "copy the store secret") != NULL,
	    "another secret is refused, naming the file and what to copy: %s", why);
	check_expect_begin();
	CHECK_EQ_INT(storesecret_claim(db, other), ERR_DENIED, "a claim by another secret fails");
	check_expect_end();
	unlink(copy);
	rv = storesecret_load(db, copy, again, why, sizeof(why));
	CHECK(rv == ERR_NOT_FOUND && strstr(why, "does not exist") != NULL &&
		strstr(why, copy) != NULL && access(copy, F_OK) != 0,
	    "a missing secret on a sealed store is refused and not made: %s", why);
	write_file(bad, key, sizeof(key), 0640);
	rv = storesecret_load(db, bad, again, why, sizeof(why));
	CHECK(rv == ERR_INVALID && strstr(why, "mode 0640") != NULL,
	    "a secret the group may read is refused: %s", why);
	write_file(bad, key, 16, 0600);
	rv = storesecret_load(db, bad, again, why, sizeof(why));
	CHECK(rv == ERR_INVALID && strstr(why, "16 bytes") != NULL,
	    "a secret of 16 bytes is refused: %s", why);
	symlink(path, copy);
	rv = storesecret_load(db, copy, again, why, sizeof(why));
	CHECK(rv == ERR_INVALID && strstr(why, "symlink") != NULL, "a symlink is not followed: %s",
	    why);
	db_close(db);
	return check_done();
}
