#include <stdio.h>
#include <string.h>

#include "../lib/b64url.h"
#include "../lib/err.h"
#include "../lib/secret.h"
#include "../proto/jwt.h"
#include "access.h"

ssize_t
access_mint(const struct jwt_signer *s, const char *pssid, const char *name, int64_t now,
    int64_t ttl, char *out, size_t cap, int64_t *exp)
{
	struct jwt_claims c;
	unsigned char jti[16];

	memset(&c, 0, sizeof(c));
	if (secret_random(jti, sizeof(jti)) < 0)
		return ERR_DB;
	snprintf(c.pssid, sizeof(c.pssid), "%s", pssid);
	c.exp = *exp = now + ttl;
	c.iat = now;
	c.has = JWT_HAS_IAT;
	b64url_encode(jti, sizeof(jti), c.jti);
	snprintf(c.iss, sizeof(c.iss), "%s", ACCESS_ISSUER);
	snprintf(c.aud, sizeof(c.aud), "%s", ACCESS_AUDIENCE);
	snprintf(c.sub, sizeof(c.sub), "%s", name);
	return jwt_sign(s, &c, out, cap);
}
