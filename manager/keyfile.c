#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/log.h"
#include "keyfile.h"

#define PEM_MAX (64 * 1024) /* larger is not a key file of ours */

static int
path_of(const char *state_dir, const char *rel, char *buf, size_t len)
{
	int n = rel[0] == '/' ? snprintf(buf, len, "%s", rel)
			      : snprintf(buf, len, "%s/%s", state_dir, rel);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
keyfile_read(const char *state_dir, const char *rel, const char *kid, struct jwt_signer **out)
{
	char path[KEYFILE_PATH_MAX], *buf = NULL;
	struct stat st;
	size_t off = 0, size = 0;
	ssize_t n;
	int fd = -1, rv = ERR_DB;

	*out = NULL;
	if (path_of(state_dir, rel, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) < 0) {
		log_error(
		    "cannot read the signing key file %s/%s: %s", state_dir, rel, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX) {
		log_error("%s is not a signing key file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0)
		log_warn("the signing key file %s has mode %03o; it should be 0600", path,
		    (unsigned)(st.st_mode & 0777));
	size = (size_t)st.st_size;
	rv = ERR_NOMEM;
	if ((buf = malloc(size)) == NULL)
		goto out;
	rv = ERR_DB;
	while (off < size) {
		if ((n = read(fd, buf + off, size - off)) < 0) {
			if (errno == EINTR)
				continue;
			log_error("cannot read the signing key file %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (jwt_signer_from_pem(kid, buf, off, out) < 0) {
		log_error("%s does not hold an Ed25519 private key", path);
		goto out;
	}
	rv = 0;
out:
	if (buf != NULL) {
		gnutls_memset(buf, 0, size);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rv;
}

void
keyfile_remove(const char *state_dir, const char *rel)
{
	char path[KEYFILE_PATH_MAX];

	if (rel[0] == '\0' || path_of(state_dir, rel, path, sizeof(path)) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove the signing key file %s: %s", path, strerror(errno));
}
