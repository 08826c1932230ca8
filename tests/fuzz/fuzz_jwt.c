/* Fuzzes JWT verification (proto/jwt.h) with a fixed key set: Ed25519 "fz1", Ed25519 without kid
 * (RFC 8037 A.2), ES256 "es1"; the clock is pinned at NOW.
 * Invariants:
 * - the input as a token: jwt_verify() never crashes and returns 0 with a UUID pssid,
 *   now <= exp <= now + JWT_LIFETIME_MAX, nbf <= now and iat <= now + JWT_IAT_SKEW (when
 *   present), times in 0..JWT_TIME_MAX and NUL-terminated strings, or one of the enum jwt_err
 *   codes other than JWT_ERR_INTERNAL with *out zeroed; the signature layer alone agrees;
 * - the input as a claims set, signed by a trusted key: the token verifies or fails only on its
 *   claims (never on signature, algorithm or key), exactly as jwt_claims_parse() judges them;
 * - claims derived from the input: jwt_sign() then jwt_verify() gives them back unchanged, or
 *   the token would be over JWT_TOKEN_MAX. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/pssid.h"
#include "../../proto/jwt.h"

#define NOW 1790000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char es1_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERxw+dYxJBChbun5TEY7Q9SSt6wdX\n"
			      "0lvS+Oew1236cUzdUg96yoqLkXrMN/Ud6PDJu+OthYOC5wLcJaEtCfeoWA==\n"
			      "-----END PUBLIC KEY-----\n";
/* RFC 8037 A.1 d */
static const unsigned char anon_seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba,
    0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70,
    0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

static struct jwt_keyset *ks;
static struct jwt_signer *fz1, *anon;

static void
init(void)
{
	unsigned char seed[32];

	for (int i = 0; i < 32; i++)
		seed[i] = (unsigned char)(i + 1);
	if (jwt_signer_from_raw("fz1", seed, &fz1) < 0 ||
	    jwt_signer_from_raw("", anon_seed, &anon) < 0)
		abort();
	if ((ks = jwt_keyset_new()) == NULL || jwt_keyset_add_ed25519(ks, "fz1", fz1->pub) < 0 ||
	    jwt_keyset_add_ed25519(ks, NULL, anon->pub) < 0 ||
	    jwt_keyset_add_pem(ks, "es1", es1_pem, strlen(es1_pem)) < 0)
		abort();
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void
check_result(int rv, const struct jwt_claims *c)
{
	static const struct jwt_claims zero;

	if (rv == 0) {
		if (!terminated(c->pssid, sizeof(c->pssid)) || !pssid_uuid(c->pssid))
			__builtin_trap();
		if (NOW > c->exp || c->exp - NOW > JWT_LIFETIME_MAX ||
		    ((c->has & JWT_HAS_NBF) && (NOW < c->nbf || c->nbf < 0)) ||
		    ((c->has & JWT_HAS_IAT) && (c->iat - NOW > JWT_IAT_SKEW || c->iat < 0)))
			__builtin_trap();
		if (!terminated(c->kid, sizeof(c->kid)) || !terminated(c->jti, sizeof(c->jti)) ||
		    !terminated(c->iss, sizeof(c->iss)) || !terminated(c->aud, sizeof(c->aud)) ||
		    !terminated(c->sub, sizeof(c->sub)))
			__builtin_trap();
		if ((c->has & JWT_HAS_AUD_LIST) && c->aud[0] != '\0')
			__builtin_trap();
		return;
	}
	if (rv >= 0 || rv == JWT_ERR_INTERNAL || rv < JWT_ERR_LIFETIME ||
	    memcmp(c, &zero, sizeof(zero)) != 0)
		__builtin_trap();
}

static void
check_token(const uint8_t *data, size_t size)
{
	unsigned char payload[JWT_TOKEN_MAX];
	const struct jwt_key *key;
	struct jwt_claims c;
	ssize_t n;
	int rv;

	rv = jwt_verify(ks, (const char *)data, size, NOW, &c);
	check_result(rv, &c);
	n = jwt_verify_signature(ks, (const char *)data, size, payload, sizeof(payload), &key);
	/* Claims and time are judged after the signature: the layers agree on everything before. */
	if (n < 0) {
		if (rv != n)
			__builtin_trap();
		return;
	}
	if (key == NULL || (size_t)n > size)
		__builtin_trap();
	switch (rv) {
	case 0:
	case JWT_ERR_EXPIRED:
	case JWT_ERR_LIFETIME:
	case JWT_ERR_NOT_YET_VALID: break;
	case JWT_ERR_MALFORMED:
	case JWT_ERR_CLAIMS:
		if (jwt_claims_parse(payload, (size_t)n, &c) != rv)
			__builtin_trap();
		break;
	default: __builtin_trap();
	}
}

static void
check_payload(const uint8_t *data, size_t size)
{
	struct jwt_signer *s = size > 0 && data[0] & 1 ? anon : fz1;
	struct jwt_claims c, p;
	char tok[JWT_TOKEN_MAX + 1];
	ssize_t n;
	int rv, prv;

	n = jwt_sign_payload(s, data, size, tok, sizeof(tok));
	if (n < 0) {
		if (n != JWT_ERR_TOO_LONG || size < JWT_TOKEN_MAX / 4 * 3 - 200)
			__builtin_trap();
		return;
	}
	rv = jwt_verify(ks, tok, (size_t)n, NOW, &c);
	check_result(rv, &c);
	prv = jwt_claims_parse(data, size, &p);
	if (rv != 0 && rv != JWT_ERR_MALFORMED && rv != JWT_ERR_CLAIMS && rv != JWT_ERR_EXPIRED &&
	    rv != JWT_ERR_LIFETIME && rv != JWT_ERR_NOT_YET_VALID)
		__builtin_trap();
	if ((rv == JWT_ERR_MALFORMED || rv == JWT_ERR_CLAIMS) != (prv < 0) ||
	    (prv < 0 && prv != rv))
		__builtin_trap();
	if (rv == 0 &&
	    (strcmp(c.kid, s->kid) != 0 || strcmp(c.pssid, p.pssid) != 0 || c.exp != p.exp ||
		c.has != p.has || strcmp(c.sub, p.sub) != 0))
		__builtin_trap();
}

/* The next input byte, 0 after the end. */
static unsigned
next(const uint8_t **data, size_t *size)
{
	unsigned b = 0;

	if (*size > 0) {
		b = **data;
		(*data)++;
		(*size)--;
	}
	return b;
}

/* A string of up to max bytes from the input: printable ASCII, quotes and backslashes included
 * (JSON escaping), or (alphabet non-NULL) characters of alphabet. */
static void
take_string(const uint8_t **data, size_t *size, char *out, size_t max, const char *alphabet)
{
	size_t n = next(data, size) % (max + 1);

	for (size_t i = 0; i < n; i++) {
		unsigned b = next(data, size);
		out[i] = alphabet ? alphabet[b % strlen(alphabet)] : (char)(0x20 + b % 0x5f);
	}
	out[n] = '\0';
}

static void
check_roundtrip(const uint8_t *data, size_t size)
{
	static const char pssid_chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
	static const char hex[] = "0123456789abcdef";
	struct jwt_signer *s;
	struct jwt_claims in, out;
	char tok[JWT_TOKEN_MAX + 1];
	ssize_t n;
	unsigned flags;
	int rv;

	memset(&in, 0, sizeof(in));
	flags = next(&data, &size);
	s = flags & 1 ? anon : fz1;
	/* A UUID from the input (tokens carry nothing else): mostly hex digits and hyphens
	 * where they belong, sometimes (bit 3) anything of the alphabet, which must fail. */
	for (int i = 0; i < PSSID_UUID_LEN; i++) {
		unsigned b = next(&data, &size);
		if (flags & 8)
			in.pssid[i] = pssid_chars[b % (sizeof(pssid_chars) - 1)];
		else
			in.pssid[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hex[b % 16];
	}
	in.pssid[PSSID_UUID_LEN] = '\0';
	in.exp = NOW + (int64_t)next(&data, &size);
	in.exp += (int64_t)next(&data, &size) << 8;
	if (flags & 2) {
		in.nbf = NOW - (int64_t)next(&data, &size);
		in.has |= JWT_HAS_NBF;
	}
	if (flags & 4) {
		in.iat = NOW + JWT_IAT_SKEW - ((int64_t)next(&data, &size) << 16);
		in.iat -= (int64_t)next(&data, &size);
		in.has |= JWT_HAS_IAT;
	}
	take_string(&data, &size, in.jti, JWT_STR_MAX, NULL);
	take_string(&data, &size, in.iss, JWT_STR_MAX, NULL);
	take_string(&data, &size, in.aud, JWT_STR_MAX, NULL);
	take_string(&data, &size, in.sub, JWT_STR_MAX, NULL);
	n = jwt_sign(s, &in, tok, sizeof(tok));
	if (n == JWT_ERR_TOO_LONG)
		return;
	if (!pssid_uuid(in.pssid)) {
		if (n != JWT_ERR_CLAIMS)
			__builtin_trap();
		return;
	}
	if (n < 0 || (size_t)n != strlen(tok))
		__builtin_trap();
	rv = jwt_verify(ks, tok, (size_t)n, NOW, &out);
	if (rv != 0 || strcmp(out.kid, s->kid) != 0 || strcmp(out.pssid, in.pssid) != 0 ||
	    out.exp != in.exp || out.has != in.has || out.nbf != in.nbf || out.iat != in.iat ||
	    strcmp(out.jti, in.jti) != 0 || strcmp(out.iss, in.iss) != 0 ||
	    strcmp(out.aud, in.aud) != 0 || strcmp(out.sub, in.sub) != 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ks == NULL)
		init();
	check_token(data, size);
	check_payload(data, size);
	check_roundtrip(data, size);
	return 0;
}
