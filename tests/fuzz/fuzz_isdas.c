/* Fuzzes isdas_parse() and isdas_format() (lib/isdas.h). The input, cut at its first NUL and
 * at 255 bytes, is parsed as a string.
 * Invariants: a failed parse gives a reason; a successful one formats (without truncation) to a
 * string that parses back to the same value, and formatting is canonical:
 * format(parse(format(x))) == format(x). The first 8 input bytes, taken as any 64-bit value,
 * also format to a string that parses back to that value. */
#include <stddef.h>
#include <stdint.h>
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
		check_roundtrip(ia);
	} else if (why == NULL || why[0] == '\0') {
		__builtin_trap();
	}
	for (size_t i = 0; i < 8 && i < size; i++)
		raw = raw << 8 | data[i];
	check_roundtrip(raw);
	return 0;
}
