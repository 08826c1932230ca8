#include <stdio.h>
#include <string.h>

#include "isdas.h"

#define AS_BGP_MAX 0xffffffffULL

static int
parse_dec(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	/* Leading zeros would give one value several spellings. */
	if (n > 1 && s[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
parse_hex_group(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0'
		    : c >= 'a' && c <= 'f'   ? c - 'a' + 10
		    : c >= 'A' && c <= 'F'   ? c - 'A' + 10
					     : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

static int
parse_as(const char *s, uint64_t *as, const char **why)
{
	const char *c1 = strchr(s, ':'), *c2;
	uint64_t g0, g1, g2;

	if (c1 == NULL) {
		if (parse_dec(s, strlen(s), AS_BGP_MAX, as) == 0)
			return 0;
		*why = "decimal AS must be a number below 2^32 (use ffff:ffff:ffff form above)";
		return -1;
	}
	c2 = strchr(c1 + 1, ':');
	if (c2 == NULL || strchr(c2 + 1, ':') != NULL ||
	    parse_hex_group(s, (size_t)(c1 - s), &g0) < 0 ||
	    parse_hex_group(c1 + 1, (size_t)(c2 - c1 - 1), &g1) < 0 ||
	    parse_hex_group(c2 + 1, strlen(c2 + 1), &g2) < 0) {
		*why = "AS must be three colon-separated groups of 1 to 4 hex digits";
		return -1;
	}
	*as = g0 << 32 | g1 << 16 | g2;
	return 0;
}

int
isdas_parse(const char *s, uint64_t *ia, const char **why)
{
	const char *dash = strchr(s, '-');
	uint64_t isd, as;

	*why = NULL;
	if (dash == NULL) {
		*why = "expected ISD-AS, like 1-ff00:0:110 or 1-64512";
		return -1;
	}
	if (parse_dec(s, (size_t)(dash - s), 0xffff, &isd) < 0) {
		*why = "ISD must be a decimal number from 0 to 65535";
		return -1;
	}
	if (parse_as(dash + 1, &as, why) < 0)
		return -1;
	*ia = isd << 48 | as;
	return 0;
}

void
isdas_format(uint64_t ia, char *buf)
{
	uint64_t as = ISDAS_AS(ia);

	if (as <= AS_BGP_MAX)
		snprintf(buf, ISDAS_STRLEN, "%u-%llu", ISDAS_ISD(ia), (unsigned long long)as);
	else
		snprintf(buf, ISDAS_STRLEN, "%u-%x:%x:%x", ISDAS_ISD(ia),
		    (unsigned)(as >> 32 & 0xffff), (unsigned)(as >> 16 & 0xffff),
		    (unsigned)(as & 0xffff));
}
