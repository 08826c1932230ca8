#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

size_t
text_utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters a name or a line must not hold: controls, separators, bidirectional controls. */
static int
forbidden(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
	    c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

/* The number of characters of s, or -1 when it is not valid UTF-8 or holds a forbidden one. */
static long
text_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long chars = 0;
	uint32_t c;
	size_t n;

	while (*p != '\0') {
		if ((n = text_utf8_next(p, &c)) == 0 || forbidden(c))
			return -1;
		p += n;
		chars++;
	}
	return chars;
}

int
text_name_valid(const char *s, size_t max, int empty_ok)
{
	long n = text_chars(s);

	return n >= (empty_ok ? 0 : 1) && (size_t)n <= max;
}

int
text_line_valid(const char *s, size_t max_bytes, int empty_ok)
{
	long n = text_chars(s);

	return n >= (empty_ok ? 0 : 1) && strlen(s) <= max_bytes;
}

int
text_lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
text_fail(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -1;
}
