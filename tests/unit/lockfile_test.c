/* The exclusive lock file: taken once, refused to a second taker (another open in this process,
 * and another process) while held, free again once its holder closes it; symlinks, directories and FIFOs at the
 * lock's name are refused without following or blocking. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/lockfile.h"
#include "check.h"

static char dir[PATH_MAX];

static const char *
at(const char *name)
{
	static char buf[2][PATH_MAX + 64];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* What lockfile_take says in a child process: 0, or its errno. */
static int
take_in_child(const char *path)
{
	pid_t pid = fork();
	int st, fd;

	if (pid == 0)
		_exit(lockfile_take(path, &fd) == 0 ? 0 : errno);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int
main(void)
{
	struct stat st;
	int fd = -1, fd2 = -1;

	snprintf(dir, sizeof(dir), "%s", check_tmpdir());

	CHECK(lockfile_take(at("a.lock"), &fd) == 0 && fd >= 0, "a lock is taken");
	CHECK(stat(at("a.lock"), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600,
	    "its file is created, mode 0600");
	CHECK(lockfile_take(at("a.lock"), &fd2) < 0 && errno == EWOULDBLOCK,
	    "a second take in this process is refused (EWOULDBLOCK)");
	CHECK_EQ_INT(
	    take_in_child(at("a.lock")), EWOULDBLOCK, "another process is refused without waiting");
	close(fd);
	CHECK_EQ_INT(take_in_child(at("a.lock")), 0, "free again once its holder closed it");
	CHECK(lockfile_take(at("a.lock"), &fd) == 0, "and taken again (the file is reused)");
	close(fd);

	CHECK(symlink(at("target"), at("l.lock")) == 0, "a symlink at the lock's name");
	CHECK(lockfile_take(at("l.lock"), &fd) < 0 && errno == ELOOP, "is refused (ELOOP)");
	CHECK(access(at("target"), F_OK) != 0, "and its target was not created");
	CHECK(mkdir(at("d.lock"), 0700) == 0, "a directory at the lock's name");
	CHECK(lockfile_take(at("d.lock"), &fd) < 0 && errno == EISDIR, "is refused (EISDIR)");
	CHECK(mkfifo(at("f.lock"), 0600) == 0, "a FIFO at the lock's name");
	CHECK(lockfile_take(at("f.lock"), &fd) < 0 && errno == EINVAL,
	    "is refused at once (EINVAL), not waited on");
	CHECK(lockfile_take(at("no/such/x.lock"), &fd) < 0 && errno == ENOENT,
	    "a missing directory is ENOENT");
	return check_done();
}
