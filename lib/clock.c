#include <stddef.h>
#include <stdio.h>
#include <string.h>
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

/* Days since 1970-01-01 of the civil date y-m-d (Howard Hinnant's days_from_civil): exact for
 * every year RFC 3339 can write, without timegm's normalisation of out-of-range fields. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s as a number, or -1 when one of them is not a digit. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
clock_rfc3339_parse(const char *s, int64_t *out)
{
	static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t t;

	if (s == NULL || strlen(s) < CLOCK_RFC3339_LEN)
		return -1;
	if ((y = digits(s, 4)) < 0 || s[4] != '-' || (mo = digits(s + 5, 2)) < 0 || s[7] != '-' ||
	    (d = digits(s + 8, 2)) < 0 || (s[10] != 'T' && s[10] != 't') ||
	    (h = digits(s + 11, 2)) < 0 || s[13] != ':' || (mi = digits(s + 14, 2)) < 0 ||
	    s[16] != ':' || (sec = digits(s + 17, 2)) < 0)
		return -1;
	s += 19;
	/* Fractions of a second are allowed and dropped: expiry times are whole seconds. */
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return -1;
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		if ((oh = digits(s + 1, 2)) < 0 || s[3] != ':' || (om = digits(s + 4, 2)) < 0 ||
		    oh > 23 || om > 59)
			return -1;
		s += 6;
	} else {
		return -1;
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	/* A leap second counts as the second after it: Unix time has no room for it. */
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (oh * 3600 + om * 60);
	*out = t;
	return 0;
}
