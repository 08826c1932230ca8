/* lib/seal.h: a sealed text opens under its key for its associated data and gives the bytes
 * back; another key, another associated data (a blob moved to another row), every truncation,
 * every altered character and texts that are no sealed text are refused with their error and
 * no output; two seals of one secret differ (fresh nonces); the key id is fixed per key. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../../lib/seal.h"
#include "check.h"

static const char secret[] = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAA\n"
			     "-----END PRIVATE KEY-----\n";

/* seal_open of the len first characters of text under key for ad: its err, or 1 when it
 * opened to exactly the secret above. */
static int
opens(const unsigned char *key, const char *ad, const char *text, size_t len)
{
	unsigned char *plain = (unsigned char *)1;
	size_t n = 99;
	int rv = seal_open(key, ad, text, len, &plain, &n);

	if (rv < 0)
		return plain == NULL && n == 0 ? rv : 100;
	rv = n == strlen(secret) && memcmp(plain, secret, n) == 0 && plain[n] == '\0';
	free(plain);
	return rv;
}

int
main(void)
{
	unsigned char key[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
	char *t1 = NULL, *t2 = NULL, *big, id1[SEAL_KEY_ID_STRLEN], id2[SEAL_KEY_ID_STRLEN];
	size_t len, bad_trunc = 0, bad_alter = 0;

	memset(key, 7, sizeof(key));
	memset(other, 7, sizeof(other));
	other[31] ^= 1;
	CHECK_EQ_INT(seal_text(key, "k-1", secret, strlen(secret), &t1), 0, "seal");
	CHECK_EQ_INT(seal_text(key, "k-1", secret, strlen(secret), &t2), 0, "seal again");
	if (t1 == NULL || t2 == NULL)
		return check_done();
	len = strlen(t1);
	CHECK(strncmp(t1, SEAL_PREFIX, 3) == 0 && len <= SEAL_TEXT_MAX &&
		len == 3 + B64URL_LEN(SEAL_NONCE_LEN + strlen(secret) + SEAL_TAG_LEN),
	    "the text is s1. and base64url of nonce, ciphertext and tag (%zu characters)", len);
	CHECK(strstr(t1, "PRIVATE") == NULL && strcmp(t1, t2) != 0,
	    "nothing of the secret shows, and two seals differ (a fresh nonce each)");
	CHECK_EQ_INT(opens(key, "k-1", t1, len), 1, "it opens under its key for its kid");
	CHECK_EQ_INT(opens(key, "k-1", t2, strlen(t2)), 1, "  so does the second");
	CHECK_EQ_INT(opens(other, "k-1", t1, len), ERR_DENIED, "another key: refused");
	CHECK_EQ_INT(opens(key, "k-2", t1, len), ERR_DENIED,
	    "another kid as associated data (the blob moved to another row): refused");
	CHECK_EQ_INT(opens(key, "", t1, len), ERR_DENIED, "  and no kid at all: refused");
	for (size_t n = 0; n < len; n++) {
		int rv = opens(key, "k-1", t1, n);

		bad_trunc += rv != ERR_INVALID && rv != ERR_DENIED;
	}
	CHECK_EQ_INT(bad_trunc, 0, "each of the %zu truncations is refused", len);
	for (size_t i = 0; i < len; i++) {
		char saved = t1[i];

		for (int c = 0; c < 256; c += 37) {
			if ((char)c == saved)
				continue;
			t1[i] = (char)c;
			int rv = opens(key, "k-1", t1, len);

			/* The last character carries 2 or 4 unused bits that must be zero: a change
			 * there is malformed, not just a wrong tag. */
			bad_alter += rv != ERR_INVALID && rv != ERR_DENIED;
		}
		t1[i] = saved;
	}
	CHECK_EQ_INT(bad_alter, 0, "every altered character of it is refused");
	CHECK_EQ_INT(opens(key, "k-1", t1, len), 1, "  and the text put back opens again");
	CHECK_EQ_INT(opens(key, "k-1", "s2.AAAA", 7), ERR_INVALID, "another version: malformed");
	CHECK_EQ_INT(opens(key, "k-1", "s1.", 3), ERR_INVALID, "nothing after the prefix");
	CHECK_EQ_INT(opens(key, "k-1", "s1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 39), ERR_INVALID,
	    "shorter than nonce and tag and one byte");
	CHECK_EQ_INT(opens(key, "k-1", "s1.!!!!", 7), ERR_INVALID, "outside the alphabet");
	big = malloc(SEAL_TEXT_MAX + 2);
	if (big != NULL) {
		memcpy(big, "s1.", 3);
		memset(big + 3, 'A', SEAL_TEXT_MAX - 2);
		big[SEAL_TEXT_MAX + 1] = '\0';
		CHECK_EQ_INT(opens(key, "k-1", big, SEAL_TEXT_MAX + 1), ERR_INVALID,
		    "longer than SEAL_TEXT_MAX: refused before decoding");
		free(big);
	}
	free(t2);
	CHECK_EQ_INT(
	    seal_text(key, "k-1", secret, 0, &t2), ERR_INVALID, "nothing to seal: refused");
	CHECK_EQ_INT(seal_text(key, "k-1", secret, SEAL_PLAIN_MAX + 1, &t2), ERR_INVALID,
	    "more than SEAL_PLAIN_MAX: refused");
	CHECK(t2 == NULL, "  with no text");
	CHECK(seal_key_id(key, id1) == 0 && seal_key_id(other, id2) == 0 && strlen(id1) == 16 &&
		strcmp(id1, id2) != 0,
	    "key ids: 16 characters, one per key (%s, %s)", id1, id2);
	CHECK(seal_key_id(key, id2) == 0 && strcmp(id1, id2) == 0, "  the same key, the same id");
	free(t1);
	return check_done();
}
