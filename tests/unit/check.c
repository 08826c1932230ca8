#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static int failures;

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

const char *
check_tmpdir(void)
{
	static char dir[256];
	const char *base = getenv("TMPDIR");

	if (dir[0] != '\0')
		return dir;
	snprintf(dir, sizeof(dir), "%s/snaptun-unit-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	return dir;
}
