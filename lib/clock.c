#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"

uint64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t
clock_unix(void)
{
	return (int64_t)time(NULL);
}

void
clock_rfc3339(int64_t unix_seconds, char *buf, size_t len)
{
	time_t t;
	struct tm tm;

	if (len == 0)
		return;
	/* RFC 3339 has four-digit years: anything outside them is shown at the nearest end,
	 * never as whatever a failed conversion left behind. */
	if (unix_seconds < CLOCK_RFC3339_MIN)
		unix_seconds = CLOCK_RFC3339_MIN;
	else if (unix_seconds > CLOCK_RFC3339_MAX)
		unix_seconds = CLOCK_RFC3339_MAX;
	t = (time_t)unix_seconds;
	/* Only a 32-bit time_t fails here: then the fixed text of the nearest end. */
	if ((time_t)unix_seconds != unix_seconds || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "%s",
		    unix_seconds < 0 ? "1901-12-13T20:45:52Z" : "2038-01-19T03:14:07Z");
		return;
	}
	/* snprintf, not strftime: glibc's %Y does not pad years before 1000 to four digits. */
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
