#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"

/* The directory part of path into dir ("." for a bare name). 0, or -1 (ENAMETOOLONG). */
static int
dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		n = (size_t)snprintf(dir, len, ".");
	else if (slash == path)
		n = (size_t)snprintf(dir, len, "/");
	else
		n = (size_t)snprintf(dir, len, "%.*s", (int)(slash - path), path);
	if (n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
atomicfile_sync_dir(const char *dir)
{
	int fd, rv = -1, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto out;
	rv = fsync(fd);
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return rv;
}

int
atomicfile_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *p = data;
	size_t off = 0;
	ssize_t n;
	int fd = -1, created = 0, rv = -1, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	if (dir_of(path, dir, sizeof(dir)) < 0)
		goto out;
	/* A temporary file left by a crash is stale. unlink removes a symlink planted at its name
	 * rather than what it points to, and O_EXCL | O_NOFOLLOW refuses one planted since. */
	if (unlink(tmp) < 0 && errno != ENOENT)
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)) < 0)
		goto out;
	created = 1;
	while (off < len) {
		if ((n = write(fd, p + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto out;
	n = close(fd);
	fd = -1;
	if (n < 0 || rename(tmp, path) < 0)
		goto out;
	created = 0;
	/* The rename is durable only once the directory is. */
	rv = atomicfile_sync_dir(dir);
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	errno = saved;
	return rv;
}

int
atomicfile_read(const char *path, void *buf, size_t len, off_t *size)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd = -1, rv = -1, saved;

	if (size != NULL)
		*size = -1;
	/* O_NONBLOCK: a FIFO planted at path must not hang us before fstat turns it down. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (size != NULL)
		*size = st.st_size;
	if ((uintmax_t)st.st_size != len) {
		errno = EINVAL;
		goto out;
	}
	while (off < len) {
		if ((n = read(fd, (char *)buf + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0) {
			/* truncated since fstat */
			errno = EINVAL;
			goto out;
		}
		off += (size_t)n;
	}
	rv = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rv < 0)
		explicit_bzero(buf, len);
	errno = saved;
	return rv;
}
