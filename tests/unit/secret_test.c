/* secret_hash: SHA-256 in lower-case hex (FIPS 180-2 vectors); secret_new: prefix and length. */
#include <string.h>

#include "../../lib/secret.h"
#include "check.h"

int
main(void)
{
	char hex[SECRET_HASH_STRLEN], s[SECRET_STRLEN], t[SECRET_STRLEN];

	secret_hash("abc", 3, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	    "SHA-256 of \"abc\"");
	secret_hash("", 0, hex);
	CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
	    "SHA-256 of the empty string");
	CHECK_EQ_INT(secret_new("st_", s), 0, "a new secret");
	CHECK(strncmp(s, "st_", 3) == 0 && strlen(s) == 3 + 43, "prefix and 43 characters");
	CHECK_EQ_INT(secret_new("st_", t), 0, "another");
	CHECK(strcmp(s, t) != 0, "two secrets differ");
	CHECK_EQ_INT(secret_new("toolong_", t), -1, "a prefix of 8 characters is refused");
	return check_done();
}
