/* The exclusive lock file (lockfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfile.h"

int
lockfile_take(const char *path, int *fd)
{
	struct stat st;
	int f, err;

	/* O_NONBLOCK: a FIFO planted at the name must not hang the open */
	f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (f < 0)
		return -1;
	if (fstat(f, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	while (flock(f, LOCK_EX | LOCK_NB) != 0)
		if (errno != EINTR)
			goto fail;
	*fd = f;
	return 0;
fail:
	err = errno;
	close(f);
	errno = err;
	return -1;
}
