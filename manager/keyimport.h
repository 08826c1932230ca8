/* The checks on an outside issuer's public key before it is trusted (POST /v1/keys): its kid,
 * its alg, and a "PUBLIC KEY" PEM of the type alg names that the JWT layer accepts, brought to
 * canonical PEM form. Pure: no store, no files. */
#ifndef MANAGER_KEYIMPORT_H
#define MANAGER_KEYIMPORT_H

#include <stddef.h>

#include "../proto/jwtkey.h"

/* Why an import was refused: the request member at fault and a sentence quoting it. */
struct keyimport_error {
	const char *field; /* "kid", "alg", "public_key_pem", "iss" or "aud"; NULL: not the
			    * input's fault */
	char detail[256];
};

/* Check kid (1 to JWT_KID_MAX printable ASCII characters without space or "/": it is a path
 * segment of the API), alg_name ("EdDSA", "ES256" or "RS256") and pem (len bytes: an Ed25519,
 * EC P-256 or RSA key of at least 2048 bits, as alg names). The algorithm goes to *alg, the key
 * in canonical PEM to *canon (free()). 0, ERR_INVALID (e says which input and why),
 * ERR_NOMEM. */
int keyimport_check(const char *kid, const char *alg_name, const char *pem, size_t len,
    enum jwt_alg *alg, char **canon, struct keyimport_error *e);

/* Check the pins of an imported key: iss and aud (NULL: none) must each be 1 to JWT_PIN_MAX
 * visible ASCII characters (jwt_pin_valid()). 0 or ERR_INVALID (e says which and why). */
int keyimport_pins_check(const char *iss, const char *aud, struct keyimport_error *e);

#endif
