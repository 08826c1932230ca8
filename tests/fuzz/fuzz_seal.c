/* Fuzzes seal_open() (lib/seal.h), the reader of the sealed private halves of the signing keys
 * that a manager reads from its store's rows: a row may hold anything a store can, written by
 * another manager, a restore or someone with write access to the database.
 * Invariants:
 * - the input as a sealed text under a fixed key and kid: never a crash or a read past it; a
 *   failure is ERR_INVALID or ERR_DENIED with no output; a success only for a text of at most
 *   SEAL_TEXT_MAX characters, with a NUL after the bytes it gives;
 * - the input as a secret (1 to SEAL_PLAIN_MAX bytes): seal_text() then seal_open() under the
 *   same key and kid gives it back byte for byte, and under another kid opens to nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../../lib/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[SEAL_KEY_LEN] = {0x5e, 0xa1, 0x5e, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};

static void
check_open(const uint8_t *data, size_t size)
{
	unsigned char *plain = NULL;
	size_t len = 0;
	/* A copy of exactly size bytes: ASan sees any read past the text. */
	char *text = malloc(size ? size : 1);
	int rv;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	rv = seal_open(key, "k-fuzz", text, size, &plain, &len);
	if (rv == 0) {
		if (size > SEAL_TEXT_MAX || plain == NULL || plain[len] != '\0')
			__builtin_trap();
		free(plain);
	} else if ((rv != ERR_INVALID && rv != ERR_DENIED && rv != ERR_NOMEM) || plain != NULL ||
	    len != 0) {
		__builtin_trap();
	}
	free(text);
}

static void
check_round_trip(const uint8_t *data, size_t size)
{
	unsigned char *plain = NULL;
	char *text = NULL;
	size_t len = 0;

	if (size == 0 || size > SEAL_PLAIN_MAX)
		return;
	if (seal_text(key, "k-fuzz", data, size, &text) != 0)
		__builtin_trap();
	if (strlen(text) > SEAL_TEXT_MAX ||
	    seal_open(key, "k-fuzz", text, strlen(text), &plain, &len) != 0 || len != size ||
	    memcmp(plain, data, size) != 0)
		__builtin_trap();
	free(plain);
	plain = NULL;
	if (seal_open(key, "k-other", text, strlen(text), &plain, &len) != ERR_DENIED ||
	    plain != NULL)
		__builtin_trap();
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_open(data, size);
	check_round_trip(data, size);
	return 0;
}
