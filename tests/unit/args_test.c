/* The programs' number flags: what args_number and args_uint take, and that anything else ends
 * the program with status 1 and a message naming the flag and quoting the value (run in a
 * child, since that is fatal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/args.h"
#include "check.h"

/* Run args_uint (whole) or args_number in a child; its exit status, its stderr in msg. */
static int
refused(int whole, const char *s, double min, double max, char *msg, size_t len)
{
	int p[2], status = -1;
	size_t off = 0;
	ssize_t n;
	pid_t pid;

	/* the child exits through exit(): it must not print our buffered lines again */
	fflush(stdout);
	if (pipe(p) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 2);
		if (whole)
			args_uint("--n", s, (uint64_t)min, (uint64_t)max);
		else
			args_number("--n", s, min, max);
		_exit(0);
	}
	close(p[1]);
	while (off < len - 1 && (n = read(p[0], msg + off, len - 1 - off)) > 0)
		off += (size_t)n;
	msg[off] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Values refused for a range of 0 to 10. */
static const struct {
	int whole;
	const char *s, *what;
} bad[] = {
    {0, "", "an empty number"},
    {0, "1x", "a number with a tail"},
    {0, "nan", "NaN, which is in no range"},
    {1, "-1", "a sign (strtoull takes -1)"},
    {1, " 1", "a leading space"},
    {1, "1.5", "a fraction for a whole number"},
    {1, "18446744073709551616", "a whole number over 2^64 - 1"},
};

int
main(void)
{
	char msg[256];

	CHECK(args_number("--r", "1", 0.5, 2) == 1.0, "a whole number is a number");
	CHECK(args_number("--r", "0.25", 1e-4, 1) == 0.25, "a fraction");
	CHECK(args_number("--r", "1e3", 1, 1e6) == 1000.0, "an exponent");
	CHECK(args_number("--r", "2", 1, 2) == 2.0 && args_number("--r", "1", 1, 2) == 1.0,
	    "both bounds are in range");
	CHECK(args_uint("--n", "18446744073709551615", 1, UINT64_MAX) == UINT64_MAX,
	    "a whole number is exact up to 2^64 - 1");
	CHECK(args_uint("--n", "9223372036854775808", 1, 1ull << 63) == 1ull << 63,
	    "2^63, past what a double holds exactly next to it");

	CHECK(refused(0, "3", 1, 2, msg, sizeof(msg)) == 1 &&
		strstr(msg, "--n \"3\": expected a number from 1 to 2") != NULL,
	    "a number out of range is fatal, and says so: %s", msg);
	CHECK(refused(1, "0", 1, 10, msg, sizeof(msg)) == 1 &&
		strstr(msg, "--n \"0\": expected a whole number from 1 to 10") != NULL,
	    "a whole number out of range: %s", msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(refused(bad[i].whole, bad[i].s, 0, 10, msg, sizeof(msg)) == 1, "refused: %s",
		    bad[i].what);
	CHECK(refused(1, "7", 0, 10, msg, sizeof(msg)) == 0, "a good value goes on");
	return check_done();
}
