/* The request-head parsers: percent-decoding refuses an encoded NUL, integers are digits only
 * and never wrap, cursors round-trip, a bearer credential is visible ASCII. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../manager/http.h"
#include "../../manager/reqparse.h"
#include "check.h"

static int
unescape(const char *in, char *out, size_t len)
{
	snprintf(out, len, "%s", in);
	return reqparse_unescape(out);
}

static int
parse_int(const char *s, int64_t min, int64_t max)
{
	int64_t v = -42;

	return reqparse_int(s, min, max, &v) == 0 ? (int)v : -1;
}

int
main(void)
{
	char buf[64], text[32];
	const char *tok;
	size_t toklen;
	int64_t v;
	json_t *next;

	CHECK(unescape("/v1/pools/a%2Fb%41%zz%4", buf, sizeof(buf)) == 19 &&
		strcmp(buf, "/v1/pools/a/bA%zz%4") == 0,
	    "escapes decoded, broken ones kept (%s)", buf);
	CHECK(unescape("/v1/pools/1%00x", buf, sizeof(buf)) == -1, "%%00 is refused");
	CHECK(unescape("a+b", buf, sizeof(buf)) == 3 && strcmp(buf, "a+b") == 0, "+ is kept");

	CHECK_EQ_INT(parse_int("5", 1, 1000), 5, "limit=5");
	CHECK_EQ_INT(parse_int(" 5", 1, 1000), -1, "a leading space is refused");
	CHECK_EQ_INT(parse_int("5 ", 1, 1000), -1, "a trailing space is refused");
	CHECK_EQ_INT(parse_int("+5", 1, 1000), -1, "a sign is refused");
	CHECK_EQ_INT(parse_int("", 1, 1000), -1, "empty is refused");
	CHECK_EQ_INT(parse_int("0", 1, 1000), -1, "under the range");
	CHECK_EQ_INT(parse_int("1001", 1, 1000), -1, "over the range");
	CHECK(reqparse_int("9223372036854775807", 1, INT64_MAX, &v) == 0 && v == INT64_MAX,
	    "INT64_MAX is read");
	CHECK(reqparse_int("9223372036854775808", 1, INT64_MAX, &v) < 0, "INT64_MAX + 1 is not");
	CHECK(reqparse_int("99999999999999999999", 1, INT64_MAX, &v) < 0, "20 nines do not wrap");

	next = page_next(2, 2, 1234567);
	snprintf(text, sizeof(text), "%s", json_string_value(next));
	json_decref(next);
	CHECK(reqparse_cursor(text, &v) == 0 && v == 1234567, "a cursor round-trips (%s)", text);
	CHECK(reqparse_cursor("gAAAAAAAAAA", &v) < 0, "a cursor over INT64_MAX is refused");
	CHECK(reqparse_cursor("AAAA", &v) < 0, "a short cursor is refused");
	CHECK(reqparse_cursor("", &v) < 0, "an empty cursor is refused");

	{
		int64_t a;
		uint64_t q, i;

		CHECK(reqparse_event_id("12-3-18446744073709551615", &a, &q, &i) == 0 && a == 12 &&
			q == 3 && i == UINT64_MAX,
		    "an event id: audit, seq, instance");
		CHECK(reqparse_event_id("9223372036854775808-0-1", &a, &q, &i) < 0,
		    "an audit id over INT64_MAX is refused");
		CHECK(reqparse_event_id("1-18446744073709551616-1", &a, &q, &i) < 0,
		    "a seq over UINT64_MAX is refused");
		CHECK(reqparse_event_id("1-2", &a, &q, &i) < 0 &&
			reqparse_event_id("1-2-3-", &a, &q, &i) < 0 &&
			reqparse_event_id("-1-2-3", &a, &q, &i) < 0 &&
			reqparse_event_id("1--3", &a, &q, &i) < 0 &&
			reqparse_event_id("1-2-3 ", &a, &q, &i) < 0 &&
			reqparse_event_id("", &a, &q, &i) < 0,
		    "a part missing, a sign, a space: refused");
	}

	CHECK(reqparse_bearer("Bearer abc", 10, &tok, &toklen) == 0 && toklen == 3 &&
		strncmp(tok, "abc", 3) == 0,
	    "Bearer abc");
	CHECK(reqparse_bearer("bEARER abc", 10, &tok, &toklen) == 0, "the scheme in any case");
	CHECK(reqparse_bearer("Bearer ab\0c", 11, &tok, &toklen) < 0, "a NUL is refused");
	CHECK(reqparse_bearer("Bearer  abc", 11, &tok, &toklen) < 0, "a space is refused");
	CHECK(reqparse_bearer("Bearer ", 7, &tok, &toklen) < 0, "no token is refused");
	CHECK(reqparse_bearer("Basic abc", 9, &tok, &toklen) < 0, "another scheme is refused");
	return check_done();
}
