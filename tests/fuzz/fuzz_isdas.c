/* Fuzzes isdas_parse() and isdas_format() (lib/isdas.h). The input, cut at its first NUL and
 * at 255 bytes, is parsed as a string.
 * Invariants: a failed parse gives a reason; a successful one agrees with strtoul() on the
 * parts (decimal ISD <= 65535; decimal AS < 2^32, or three hex groups <= ffff), formats
 * (without truncation) to a string that parses back to the same value, and formatting is
 * canonical: format(parse(format(x))) == format(x). The first 8 input bytes, taken as any
 * 64-bit value, also format to a string that parses back to that value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/isdas.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* format(ia) parses back to ia, and formatting that again gives the same text. */
static void
check_roundtrip(uint64_t ia)
{
	char text[ISDAS_STRLEN], again[ISDAS_STRLEN];
	const char *why;
	uint64_t back;

	memset(text, 0, sizeof(text));
	isdas_format(ia, text);
	if (strlen(text) >= ISDAS_STRLEN - 1)
		__builtin_trap();
	if (isdas_parse(text, &back, &why) != 0 || why != NULL || back != ia)
		__builtin_trap();
	isdas_format(back, again);
	if (strcmp(text, again) != 0)
		__builtin_trap();
}

/* The value of a parsed string, worked out again with strtoul(). */
static void
check_parts(const char *s, uint64_t ia)
{
	const char *dash = strchr(s, '-'), *p;
	unsigned long long isd, as, g[3];
	char *end;

	isd = strtoull(s, &end, 10);
	if (end != dash || isd > 0xffff || isd != ISDAS_ISD(ia))
		__builtin_trap();
	if (strchr(dash + 1, ':') == NULL) {
		as = strtoull(dash + 1, &end, 10);
		if (*end != '\0' || as > 0xffffffffULL || as != ISDAS_AS(ia))
			__builtin_trap();
		return;
	}
	p = dash;
	for (int i = 0; i < 3; i++) {
		g[i] = strtoull(p + 1, &end, 16);
		if (g[i] > 0xffff || *end != (i < 2 ? ':' : '\0'))
			__builtin_trap();
		p = end;
	}
	if ((g[0] << 32 | g[1] << 16 | g[2]) != ISDAS_AS(ia))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256];
	const char *why;
	uint64_t ia, raw = 0;
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	memcpy(s, data, n);
	s[n] = '\0';
	why = "poison";
	if (isdas_parse(s, &ia, &why) == 0) {
		if (why != NULL)
			__builtin_trap();
		check_parts(s, ia);
		check_roundtrip(ia);
	} else if (why == NULL || why[0] == '\0') {
		__builtin_trap();
	}
	for (size_t i = 0; i < 8 && i < size; i++)
		raw = raw << 8 | data[i];
	check_roundtrip(raw);
	return 0;
}
