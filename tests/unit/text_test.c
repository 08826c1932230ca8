/* Names and lines of text from the API (lib/text.h): the limit counts characters, not bytes;
 * invalid UTF-8, controls and the invisible characters that reorder text are refused. */
#include <string.h>

#include "../../lib/text.h"
#include "check.h"

/* n copies of the UTF-8 text one into buf. */
static const char *
repeat(char *buf, const char *one, int n)
{
	buf[0] = '\0';
	while (n-- > 0)
		strcat(buf, one);
	return buf;
}

int
main(void)
{
	char buf[1024];

	CHECK(text_name_valid("edge-v4", 64, 0), "an ASCII name");
	CHECK(text_name_valid(repeat(buf, "a", 64), 64, 0), "64 ASCII characters");
	CHECK(!text_name_valid(repeat(buf, "a", 65), 64, 0), "65 are too many");
	CHECK(text_name_valid(repeat(buf, "\xf0\x9f\x98\x80", 64), 64, 0),
	    "64 emoji (256 bytes) are 64 characters");
	CHECK(!text_name_valid(repeat(buf, "\xf0\x9f\x98\x80", 65), 64, 0), "65 emoji are not");
	CHECK(text_name_valid("Zürich \xe6\x9d\xb1\xe4\xba\xac", 64, 0), "Latin-1 and CJK letters");
	CHECK(
	    !text_name_valid("", 64, 0) && text_name_valid("", 64, 1), "empty only where allowed");
	CHECK(!text_name_valid("evil\xe2\x80\xaegnp.exe", 64, 0), "U+202E RIGHT-TO-LEFT OVERRIDE");
	CHECK(!text_name_valid("a\xe2\x81\xa6"
			       "b",
		  64, 0) &&
		!text_name_valid("a\xe2\x80\x8f", 64, 0) && !text_name_valid("a\xd8\x9c", 64, 0),
	    "U+2066 isolate, U+200F mark, U+061C Arabic letter mark");
	CHECK(!text_name_valid("a\tb", 64, 0) && !text_name_valid("a\x7f", 64, 0) &&
		!text_name_valid("a\xc2\x85", 64, 0) && !text_name_valid("a\xe2\x80\xa8", 64, 0),
	    "tab, DEL, C1 NEL, U+2028 LINE SEPARATOR");
	CHECK(!text_name_valid("a\xc0\xaf", 64, 0), "an overlong '/'");
	CHECK(!text_name_valid("a\xed\xa0\x80", 64, 0), "an encoded surrogate");
	CHECK(!text_name_valid("a\xf4\x90\x80\x80", 64, 0), "past U+10FFFF");
	CHECK(!text_name_valid("a\xe2\x82", 64, 0), "a sequence cut short");
	CHECK(!text_name_valid("\xff", 64, 0), "a byte that starts nothing");
	CHECK(text_line_valid(repeat(buf, "a", 200), 200, 0) &&
		!text_line_valid(repeat(buf, "\xc3\xa9", 101), 200, 0),
	    "a line is bounded in bytes: 200 ASCII fit in 200, 101 'é' (202 bytes) do not");
	CHECK(!text_line_valid("lost\xe2\x80\xae", 200, 1), "a line has the same character rules");
	return check_done();
}
