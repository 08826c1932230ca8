/* Fuzzes key import: an outside issuer's public key as POST /v1/keys takes it
 * (manager/keyimport.h: kid, alg, PEM), a public JWK (jwt_keyset_add_jwk()), and our own
 * private key files (jwt_signer_from_pem(), what the manager reads back from keys/<kid>.pem).
 *
 * Input: byte 0 picks the import (mod 3); for keyimport the rest is "kid\nalg\nPEM", otherwise
 * the rest is the JWK or the PEM. Invariants: never a crash or a leak; keyimport_check() gives a
 * canonical PEM exactly when it accepts, names the field at fault when it refuses, and accepts
 * its own canonical PEM again, to the same bytes; an accepted key renders as a JWK
 * (manager/jwk.h); an accepted JWK is an EdDSA key whose JWK rendering imports again to the same
 * raw key; a private key read renders its public JWK. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../../manager/jwk.h"
#include "../../manager/keyimport.h"

#define INPUT_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of *p (up to \n or the end) as a new string; *p moves past it. */
static char *
line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl != NULL ? nl : end) - *p);
	char *s = strndup(*p, n);

	if (s == NULL)
		abort();
	*p += n + (nl != NULL);
	return s;
}

/* k as a JWK must render; returns it as JSON text (free()). */
static char *
jwk_text(const struct jwt_key *k)
{
	json_t *o = jwk_json(k);
	char *s;

	if (o == NULL)
		__builtin_trap();
	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		abort();
	json_decref(o);
	return s;
}

static void
fuzz_import(const char *p, const char *end)
{
	char *kid = line(&p, end), *alg_name = line(&p, end), *canon = NULL, *again = NULL;
	struct keyimport_error e;
	struct jwt_keyset *ks = NULL;
	enum jwt_alg alg, alg2;
	int rv;

	rv = keyimport_check(kid, alg_name, p, (size_t)(end - p), &alg, &canon, &e);
	if (rv == ERR_NOMEM)
		goto out;
	if (rv == 0) {
		if (canon == NULL || e.field != NULL || strlen(kid) == 0)
			__builtin_trap();
		if (keyimport_check(kid, alg_name, canon, strlen(canon), &alg2, &again, &e) != 0 ||
		    alg2 != alg || strcmp(canon, again) != 0)
			__builtin_trap(); /* canonical form is a fixed point */
		if ((ks = jwt_keyset_new()) == NULL)
			abort();
		if (jwt_keyset_add_pem(ks, kid, canon, strlen(canon)) != 0)
			__builtin_trap();
		free(jwk_text(jwt_keyset_find(ks, kid)));
	} else if (rv != ERR_INVALID || canon != NULL || e.field == NULL || e.detail[0] == '\0') {
		__builtin_trap();
	}
out:
	jwt_keyset_free(ks);
	free(again);
	free(canon);
	free(kid);
	free(alg_name);
}

static void
fuzz_jwk(const char *p, size_t len)
{
	struct jwt_keyset *ks = jwt_keyset_new(), *ks2 = jwt_keyset_new();
	const struct jwt_key *k, *k2;
	char *s;

	if (ks == NULL || ks2 == NULL)
		abort();
	if (jwt_keyset_add_jwk(ks, p, len) == 0) {
		if (ks->n != 1)
			__builtin_trap();
		k = &ks->keys[0];
		if (k->alg != JWT_ALG_EDDSA)
			__builtin_trap();
		s = jwk_text(k);
		if (jwt_keyset_add_jwk(ks2, s, strlen(s)) != 0 || ks2->n != 1)
			__builtin_trap();
		k2 = &ks2->keys[0];
		if (strcmp(k->kid, k2->kid) != 0 ||
		    memcmp(k->ed25519, k2->ed25519, JWT_ED25519_LEN))
			__builtin_trap();
		free(s);
	}
	jwt_keyset_free(ks);
	jwt_keyset_free(ks2);
}

static void
fuzz_private(const char *p, size_t len)
{
	struct jwt_signer *s = NULL;
	char jwk[JWT_JWK_MAX];

	if (jwt_signer_from_pem("fz", p, len, &s) == 0) {
		if (s == NULL || jwt_signer_jwk(s, jwk, sizeof(jwk)) <= 0)
			__builtin_trap();
		jwt_signer_free(s);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size == 0 || size > INPUT_MAX)
		return 0;
	/* a heap copy of exactly the input: a read past it is caught */
	if ((copy = malloc(size - 1 ? size - 1 : 1)) == NULL)
		abort();
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0: fuzz_import(copy, copy + size - 1); break;
	case 1: fuzz_jwk(copy, size - 1); break;
	case 2: fuzz_private(copy, size - 1); break;
	}
	free(copy);
	return 0;
}
