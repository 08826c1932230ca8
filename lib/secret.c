#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "b64url.h"
#include "log.h"
#include "secret.h"

int
secret_random(void *buf, size_t len)
{
	return gnutls_rnd(GNUTLS_RND_KEY, buf, len) == 0 ? 0 : -1;
}

int
secret_new(const char *prefix, char *buf)
{
	unsigned char raw[SECRET_RAW_LEN];
	size_t plen = strlen(prefix);

	if (plen > 7 || secret_random(raw, sizeof(raw)) < 0)
		return -1;
	memcpy(buf, prefix, plen);
	b64url_encode(raw, sizeof(raw), buf + plen);
	return 0;
}

int
secret_derive(const char *prefix, const char *key, const char *msg, char *buf)
{
	unsigned char raw[SECRET_RAW_LEN];
	size_t plen = strlen(prefix);

	if (plen > 7 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, strlen(key), msg, strlen(msg), raw) < 0)
		return -1;
	memcpy(buf, prefix, plen);
	b64url_encode(raw, sizeof(raw), buf + plen);
	return 0;
}

void
secret_hash(const char *s, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];

	/* SHA-256 fails only when GnuTLS itself is broken (a failed FIPS self-test): going on
	 * would compare stack garbage instead of the hash of a secret. */
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, s, len, md) < 0)
		fatalx("SHA-256 failed: cannot hash a secret");
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}
