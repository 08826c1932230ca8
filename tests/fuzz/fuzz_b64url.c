/* Fuzzes b64url_decode() and b64url_encode() (lib/b64url.h), the strict base64url codec of
 * secrets and paging cursors.
 * Invariants:
 * - the input as text: when decode succeeds it yields exactly the length the text implies,
 *   encode of the result reproduces the input byte for byte (no padding, zero trailing bits,
 *   so one spelling per value), and decode into one byte less of room fails;
 * - the input as bytes: encode gives B64URL_LEN(size) alphabet characters, NUL-terminated,
 *   and decode of that gives the input back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/b64url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
in_alphabet(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

static void
check_decode(const uint8_t *data, size_t size)
{
	unsigned char *out = malloc(size + 1);
	char *text = malloc(size + 2);
	ssize_t n;

	if (out == NULL || text == NULL)
		abort();
	n = b64url_decode((const char *)data, size, out, size);
	if (n >= 0) {
		if ((size_t)n != size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0))
			__builtin_trap();
		if (B64URL_LEN((size_t)n) != size)
			__builtin_trap();
		b64url_encode(out, (size_t)n, text);
		if (text[size] != '\0' || memcmp(text, data, size) != 0)
			__builtin_trap();
		if (n > 0 && b64url_decode((const char *)data, size, out, (size_t)n - 1) != -1)
			__builtin_trap();
	} else if (n != -1) {
		__builtin_trap();
	}
	free(out);
	free(text);
}

static void
check_encode(const uint8_t *data, size_t size)
{
	size_t len = B64URL_LEN(size);
	char *text = malloc(len + 1);
	unsigned char *back = malloc(size + 1);
	ssize_t n;

	if (text == NULL || back == NULL)
		abort();
	b64url_encode(data, size, text);
	if (strlen(text) != len)
		__builtin_trap();
	for (size_t i = 0; i < len; i++)
		if (!in_alphabet(text[i]))
			__builtin_trap();
	/* Exactly the room the bytes need: the decoder must not ask for more. */
	n = b64url_decode(text, len, back, size);
	if (n < 0 || (size_t)n != size || memcmp(back, data, size) != 0)
		__builtin_trap();
	free(text);
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size);
	check_encode(data, size);
	return 0;
}
