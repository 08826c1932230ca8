#include <strings.h>
#include <sys/types.h>

#include "../lib/b64url.h"
#include "reqparse.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
reqparse_unescape(char *s)
{
	char *w = s;
	int hi, lo;

	for (const char *p = s; *p != '\0'; w++) {
		if (p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
			*w = (char)(hi << 4 | lo);
			p += 3;
			if (*w == '\0')
				return -1;
		} else {
			*w = *p++;
		}
	}
	*w = '\0';
	return (int)(w - s);
}

int
reqparse_int(const char *s, int64_t min, int64_t max, int64_t *v)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		/* Past INT64_MAX no value can be in range: stop before it wraps. */
		if (n > ((uint64_t)INT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	if ((int64_t)n < min || (int64_t)n > max)
		return -1;
	*v = (int64_t)n;
	return 0;
}

/* Up to 20 digits of s as a uint64_t, without wrapping; the end in *end. 0 or -1. */
static int
u64_digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t n = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (p - s >= 20 || n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -1;
	*v = n;
	*end = p;
	return 0;
}

int
reqparse_event_id(const char *s, int64_t *audit, uint64_t *seq, uint64_t *instance)
{
	uint64_t a, q, i;
	const char *p;

	if (u64_digits(s, &a, &p) < 0 || *p != '-' || a > INT64_MAX ||
	    u64_digits(p + 1, &q, &p) < 0 || *p != '-' || u64_digits(p + 1, &i, &p) < 0 ||
	    *p != '\0')
		return -1;
	*audit = (int64_t)a;
	*seq = q;
	*instance = i;
	return 0;
}

int
reqparse_cursor(const char *s, int64_t *id)
{
	unsigned char raw[16];
	uint64_t v = 0;
	size_t len = 0;

	while (s[len] != '\0' && len < 64)
		len++;
	if (b64url_decode(s, len, raw, sizeof(raw)) != 8)
		return -1;
	for (int i = 0; i < 8; i++)
		v = v << 8 | raw[i];
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*id = (int64_t)v;
	return 0;
}

int
reqparse_bearer(const char *value, size_t len, const char **tok, size_t *toklen)
{
	if (len <= 7 || strncasecmp(value, "Bearer ", 7) != 0)
		return -1;
	for (size_t i = 7; i < len; i++)
		if ((unsigned char)value[i] <= 0x20 || (unsigned char)value[i] >= 0x7f)
			return -1;
	*tok = value + 7;
	*toklen = len - 7;
	return 0;
}
