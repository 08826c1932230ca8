/* base64url without padding: RFC 4648 §10 vectors (unpadded) and strictness. */
#include <string.h>

#include "../../lib/b64url.h"
#include "check.h"

int
main(void)
{
	static const struct {
		const char *raw, *enc;
	} v[] = {
	    {"", ""},
	    {"f", "Zg"},
	    {"fo", "Zm8"},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"},
	    {"fooba", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy"},
	    {"\xfb\xff", "-_8"},
	};
	static const char *const bad[] = {"Zg==", "Z", "Zh", "Zm9v!", "Zm+v", "Zm/v", "Zm9vY"};
	unsigned char out[64];
	char enc[64];
	ssize_t n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		b64url_encode((const unsigned char *)v[i].raw, strlen(v[i].raw), enc);
		CHECK(strcmp(enc, v[i].enc) == 0, "encode \"%s\" as \"%s\"", v[i].raw, v[i].enc);
		n = b64url_decode(v[i].enc, strlen(v[i].enc), out, sizeof(out));
		CHECK(n == (ssize_t)strlen(v[i].raw) && memcmp(out, v[i].raw, (size_t)n) == 0,
		    "decode \"%s\"", v[i].enc);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out)) < 0, "refuse \"%s\"",
		    bad[i]);
	CHECK(b64url_decode("Zm9vYmFy", 8, out, 5) < 0, "refuse output over capacity");
	return check_done();
}
