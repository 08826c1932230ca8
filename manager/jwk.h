/* Public keys as JWKs (RFC 7517, RFC 7518, RFC 8037) for GET /v1/keys: verifiers fetch our
 * keys like a JWKS endpoint. Never private material. */
#ifndef MANAGER_JWK_H
#define MANAGER_JWK_H

#include <jansson.h>

#include "../proto/jwtkey.h"

/* The public JWK of k as a new object: kty OKP (crv Ed25519, x), EC (crv P-256, x, y) or RSA
 * (n, e), base64url without padding, with kid, alg and use "sig". NULL when k is NULL or out
 * of memory. */
json_t *jwk_json(const struct jwt_key *k);

#endif
