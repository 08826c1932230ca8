/* Atomic small files: content and mode, replacing a file, a stale temporary file, a symlink
 * planted at the temporary name (its target stays untouched), bare names (the directory is
 * "."), failures that leave nothing behind; and the exact-size secret reader against absent
 * files, other sizes, symlinks, directories and FIFOs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/atomicfile.h"
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

/* The whole content of path as a string ("" when unreadable). */
static const char *
slurp(const char *path)
{
	static char buf[256];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_mode : 0;
}

static void
test_write(void)
{
	int fd;

	umask(022);
	CHECK(atomicfile_write(at("a"), "hello\n", 6, 0640) == 0, "a file is written");
	CHECK(strcmp(slurp(at("a")), "hello\n") == 0, "with its content");
	CHECK((mode_of(at("a")) & 07777) == 0640 && S_ISREG(mode_of(at("a"))), "and its mode (%o)",
	    mode_of(at("a")) & 07777);
	CHECK(!exists(at("a.tmp")), "no temporary file is left");
	CHECK(atomicfile_write(at("a"), "second", 6, 0600) == 0 &&
		strcmp(slurp(at("a")), "second") == 0 && (mode_of(at("a")) & 07777) == 0600,
	    "a second write replaces the file, mode and all");
	CHECK(atomicfile_write(at("b"), "x", 1, 0666) == 0 && (mode_of(at("b")) & 0777) == 0644,
	    "the umask applies as for open(2)");
	CHECK(atomicfile_write(at("empty"), "", 0, 0600) == 0 && exists(at("empty")) &&
		slurp(at("empty"))[0] == '\0',
	    "an empty file is a file");

	/* a crash between the create and the rename left a temporary file */
	fd = open(at("c.tmp"), O_WRONLY | O_CREAT | O_EXCL, 0666);
	(void)write(fd, "half a key", 10);
	close(fd);
	CHECK(atomicfile_write(at("c"), "whole", 5, 0600) == 0 &&
		strcmp(slurp(at("c")), "whole") == 0 && !exists(at("c.tmp")),
	    "a temporary file left by a crash is replaced");
}

static void
test_symlink(void)
{
	int fd;

	fd = open(at("victim"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	(void)write(fd, "keep", 4);
	close(fd);
	CHECK(
	    symlink(at("victim"), at("d.tmp")) == 0, "a symlink is planted at the temporary name");
	CHECK(atomicfile_write(at("d"), "mine", 4, 0600) == 0, "the write goes on");
	CHECK(strcmp(slurp(at("victim")), "keep") == 0 && (mode_of(at("victim")) & 07777) == 0600,
	    "the symlink's target is untouched");
	CHECK(S_ISREG(mode_of(at("d"))) && strcmp(slurp(at("d")), "mine") == 0 &&
		!exists(at("d.tmp")),
	    "the file is a regular file of its own, the link is gone");

	CHECK(symlink(at("nowhere"), at("e.tmp")) == 0 &&
		atomicfile_write(at("e"), "x", 1, 0600) == 0 && !exists(at("nowhere")),
	    "a dangling link at the temporary name creates nothing at its target");
}

static void
test_write_fails(void)
{
	char longname[PATH_MAX + 16];
	char cwd[PATH_MAX];

	errno = 0;
	CHECK(atomicfile_write(at("no/such/dir/f"), "x", 1, 0600) < 0 && errno == ENOENT,
	    "a missing directory fails with ENOENT");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(atomicfile_write(longname, "x", 1, 0600) < 0 && errno == ENAMETOOLONG,
	    "a path too long fails with ENAMETOOLONG");
	CHECK(atomicfile_sync_dir(dir) == 0, "a directory is synced");
	CHECK(atomicfile_sync_dir(at("a")) < 0 && errno == ENOTDIR, "a file is no directory");

	/* a bare name: the directory to sync is "." */
	if (getcwd(cwd, sizeof(cwd)) != NULL && chdir(dir) == 0) {
		CHECK(atomicfile_write("bare", "b", 1, 0600) == 0 &&
			strcmp(slurp(at("bare")), "b") == 0,
		    "a bare file name is written in the working directory");
		CHECK(chdir(cwd) == 0, "back to the test's directory");
	}
}

static void
test_read(void)
{
	unsigned char buf[6];
	off_t size;

	CHECK(atomicfile_read(at("a"), buf, 6, &size) == 0 && memcmp(buf, "second", 6) == 0 &&
		size == 6,
	    "a file of the expected size is read");
	memset(buf, 'z', sizeof(buf));
	CHECK(atomicfile_read(at("a"), buf, 5, &size) < 0 && errno == EINVAL && size == 6,
	    "another size is refused, and told");
	CHECK(memcmp(buf, "\0\0\0\0\0", 5) == 0, "the buffer is wiped on failure");
	CHECK(atomicfile_read(at("absent"), buf, 6, &size) < 0 && errno == ENOENT && size == -1,
	    "an absent file is ENOENT");
	CHECK(symlink(at("a"), at("link")) == 0 && atomicfile_read(at("link"), buf, 6, NULL) < 0 &&
		errno == ELOOP,
	    "a symlink is not followed (ELOOP)");
	CHECK(atomicfile_read(dir, buf, 6, NULL) < 0 && errno == EINVAL,
	    "a directory is no secret file");
	CHECK(mkfifo(at("fifo"), 0600) == 0 && atomicfile_read(at("fifo"), buf, 6, NULL) < 0 &&
		errno == EINVAL,
	    "a FIFO is refused without blocking");
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "%s", check_tmpdir());
	test_write();
	test_symlink();
	test_write_fails();
	test_read();
	return check_done();
}
