#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static int failures;
static char tmpdir[256];
static pid_t tmpdir_owner;
static FILE *expect_file;
static int expect_saved = -1;

void
check_report(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	if (expr[0] == '\0') {
		/* continuation of the previous line's diagnostics */
		printf("#");
	} else {
		printf("%s - ", ok ? "ok" : "not ok");
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		printf("  [%s:%d: %s]", file, line, expr);
	printf("\n");
	if (!ok)
		failures++;
}

int
check_done(void)
{
	fflush(stdout);
	return failures ? 1 : 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* At exit: the state dir goes unless a check failed, when it stays for a look (and says so). A
 * child of a forking test exits too, and must leave the dir to the parent that made it. */
static void
tmpdir_cleanup(void)
{
	if (tmpdir[0] == '\0' || getpid() != tmpdir_owner)
		return;
	if (failures) {
		printf("# the test's files are kept in %s\n", tmpdir);
		return;
	}
	if (nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		perror(tmpdir);
}

const char *
check_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (tmpdir[0] != '\0')
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s/snaptun-unit-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	tmpdir_owner = getpid();
	atexit(tmpdir_cleanup);
	return tmpdir;
}

void
check_expect_begin(void)
{
	fflush(stderr);
	if (expect_file != NULL || (expect_file = tmpfile()) == NULL)
		return;
	if ((expect_saved = dup(STDERR_FILENO)) < 0 ||
	    dup2(fileno(expect_file), STDERR_FILENO) < 0) {
		fclose(expect_file);
		expect_file = NULL;
	}
}

void
check_expect_end(void)
{
	char line[1024];

	if (expect_file == NULL)
		return;
	fflush(stderr);
	dup2(expect_saved, STDERR_FILENO);
	close(expect_saved);
	expect_saved = -1;
	rewind(expect_file);
	while (fgets(line, sizeof(line), expect_file) != NULL)
		printf("# expected: %s%s", line, strchr(line, '\n') != NULL ? "" : "\n");
	fclose(expect_file);
	expect_file = NULL;
}
