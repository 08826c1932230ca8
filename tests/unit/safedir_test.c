/* Directories for secrets: 0700 and 0755 pass, group- or world-writable ones (sticky or not)
 * are refused with a message that names the directory and the chmod that fixes it; files are
 * no directories; the parent of a key file is the one checked. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/safedir.h"
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

static void
test_modes(void)
{
	static const struct {
		mode_t mode;
		int ok;
		const char *who;
	} cases[] = {
	    {0700, 1, NULL},
	    {0755, 1, NULL},
	    {0750, 1, NULL},
	    {0770, 0, "group"},
	    {0707, 0, "others"},
	    {0777, 0, "group and others"},
	    {01777, 0, "group and others"},
	};
	char why[512], fix[PATH_MAX + 32];

	CHECK(mkdir(at("d"), 0700) == 0, "a directory to check");
	snprintf(fix, sizeof(fix), "chmod 700 %s", at("d"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rv;

		CHECK(chmod(at("d"), cases[i].mode) == 0, "chmod %04o", (unsigned)cases[i].mode);
		why[0] = '\0';
		errno = 0;
		rv = safedir_check(at("d"), 0, why, sizeof(why));
		if (cases[i].ok) {
			CHECK(rv == 0, "mode %04o is accepted", (unsigned)cases[i].mode);
			continue;
		}
		CHECK(rv < 0 && errno == EACCES, "mode %04o is refused (EACCES)",
		    (unsigned)cases[i].mode);
		CHECK(strstr(why, at("d")) != NULL && strstr(why, fix) != NULL &&
			strstr(why, cases[i].who) != NULL,
		    "and why names the directory, who may write and the fix: %s", why);
	}
	CHECK(chmod(at("d"), 0700) == 0, "back to 0700");
}

static void
test_others(void)
{
	char why[512];
	FILE *f;

	CHECK(safedir_check(at("absent"), 0, why, sizeof(why)) < 0 && errno == ENOENT &&
		strstr(why, at("absent")) != NULL,
	    "an absent directory is ENOENT, named");
	CHECK((f = fopen(at("file"), "w")) != NULL && fclose(f) == 0, "a file");
	CHECK(safedir_check(at("file"), 0, why, sizeof(why)) < 0 && errno == ENOTDIR,
	    "a file is no directory");
	CHECK(safedir_check_parent(at("d/key.pem"), 0, why, sizeof(why)) == 0,
	    "a key file in a 0700 directory passes");
	CHECK(chmod(at("d"), 0777) == 0 &&
		safedir_check_parent(at("d/key.pem"), 0, why, sizeof(why)) < 0 && errno == EACCES &&
		strstr(why, at("d")) != NULL,
	    "a key file in a 0777 directory is refused, the directory named");
	CHECK(chmod(at("d"), 0700) == 0, "back to 0700");
	CHECK(safedir_check_parent("key.pem", 0, why, sizeof(why)) == 0 || strstr(why, ".") != NULL,
	    "a bare name checks the working directory");
	if (geteuid() != 0) {
		CHECK(safedir_check("/", 0, why, sizeof(why)) < 0 && errno == EPERM &&
			strstr(why, "chown") != NULL,
		    "a directory of another owner is refused (EPERM), with the fix: %s", why);
		CHECK(safedir_check("/", 1, why, sizeof(why)) == 0,
		    "unless it is root's and root may own it");
	} else {
		CHECK(safedir_check("/", 0, why, sizeof(why)) == 0, "root owns /");
	}
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "%s", check_tmpdir());
	CHECK(chmod(dir, 0700) == 0, "the test's directory is 0700");
	test_modes();
	test_others();
	return check_done();
}
