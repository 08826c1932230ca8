/* clock_rfc3339: RFC 3339 text for every int64_t, the ends of the four-digit years included. */
#include <stdint.h>
#include <string.h>

#include "../../lib/clock.h"
#include "check.h"

int
main(void)
{
	static const struct {
		int64_t t;
		const char *want, *what;
	} v[] = {
	    {0, "1970-01-01T00:00:00Z", "the epoch"},
	    {1790000000, "2026-09-21T14:13:20Z", "a time in 2026"},
	    {CLOCK_RFC3339_MAX, "9999-12-31T23:59:59Z", "the last second of 9999"},
	    {CLOCK_RFC3339_MAX + 1, "9999-12-31T23:59:59Z", "year 10000: the last second of 9999"},
	    {INT64_MAX, "9999-12-31T23:59:59Z", "2^63-1 (gmtime_r fails): the last second of 9999"},
	    {-1, "1969-12-31T23:59:59Z", "one second before the epoch"},
	    {CLOCK_RFC3339_MIN, "0001-01-01T00:00:00Z", "the first second of year 1, four digits"},
	    {-59011459200LL, "0100-01-01T00:00:00Z", "year 100, four digits"},
	    {INT64_MIN, "0001-01-01T00:00:00Z", "-2^63: the first second of year 1"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		clock_rfc3339(v[i].t, buf, sizeof(buf));
		CHECK(strcmp(buf, v[i].want) == 0, "%s: %s (got \"%.31s\")", v[i].what, v[i].want,
		    buf);
	}
	memset(buf, 'x', sizeof(buf));
	clock_rfc3339(INT64_MAX, buf, 8);
	CHECK(memchr(buf, '\0', 8) != NULL, "a short buffer still holds a NUL-terminated string");
	return check_done();
}
