/* Refusing directories that others may write (see safedir.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safedir.h"

int
safedir_check(const char *dir, int root_ok, char *why, size_t len)
{
	struct stat st;
	uid_t me = geteuid();

	if (stat(dir, &st) < 0) {
		int e = errno;

		snprintf(why, len, "%s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "%s: not a directory", dir);
		errno = ENOTDIR;
		return -1;
	}
	if (st.st_uid != me && !(root_ok && (st.st_uid == 0 || me == 0))) {
		snprintf(why, len,
		    "%s is owned by uid %u, not by uid %u that runs this: another user could plant "
		    "files in it (fix: chown %u %s, or use another directory)",
		    dir, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, dir);
		errno = EPERM;
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, len,
		    "%s is writable by %s (mode %04o): another user could plant files or symlinks "
		    "where secrets are written (fix: chmod 700 %s)",
		    dir,
		    (st.st_mode & S_IWOTH) != 0
			? ((st.st_mode & S_IWGRP) != 0 ? "group and others" : "others")
			: "group",
		    (unsigned)(st.st_mode & 07777), dir);
		errno = EACCES;
		return -1;
	}
	return 0;
}

int
safedir_check_parent(const char *path, int root_ok, char *why, size_t len)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return safedir_check(".", root_ok, why, len);
	if ((size_t)(slash - path) >= sizeof(dir)) {
		snprintf(why, len, "%s: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	/* "/key.pem" lives in "/" */
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return safedir_check(dir, root_ok, why, len);
}
