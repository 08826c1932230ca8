#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "../lib/b64url.h"
#include "../lib/pssid.h"
#include "jwt.h"

#define ED25519_SIG_LEN 64
#define ES256_SIG_LEN 64 /* r||s, 32 bytes each (RFC 7518 §3.4) */
#define SIG_MAX 1024 /* RSA up to 8192 bits */
#define HEADER_MAX 512 /* our own header JSON: 40 bytes and a kid of up to 2 * JWT_KID_MAX */

const char *
jwt_err_str(int err)
{
	switch (err) {
	case JWT_OK: return "ok";
	case JWT_ERR_MALFORMED: return "malformed token";
	case JWT_ERR_TOO_LONG: return "token too long";
	case JWT_ERR_ALG: return "algorithm not accepted";
	case JWT_ERR_UNKNOWN_KEY: return "unknown key";
	case JWT_ERR_SIGNATURE: return "bad signature";
	case JWT_ERR_EXPIRED: return "token expired";
	case JWT_ERR_NOT_YET_VALID: return "token not yet valid";
	case JWT_ERR_CLAIMS: return "missing or invalid claims";
	case JWT_ERR_INTERNAL: return "internal error";
	case JWT_ERR_LIFETIME: return "token lifetime over the maximum";
	case JWT_ERR_ISS: return "issuer not the one the key is pinned to";
	case JWT_ERR_AUD: return "audience not the one the key is pinned to";
	}
	return "unknown error";
}

/* A compact JWS cut at its two dots. The signing input is the first hlen + 1 + plen bytes. */
struct parts {
	const char *h, *p, *s;
	size_t hlen, plen, slen;
};

static int
parts_split(const char *token, size_t len, struct parts *pt)
{
	const char *end = token + len, *d1, *d2;

	if (len > JWT_TOKEN_MAX)
		return JWT_ERR_TOO_LONG;
	if (len == 0 || (d1 = memchr(token, '.', len)) == NULL)
		return JWT_ERR_MALFORMED;
	if ((d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL)
		return JWT_ERR_MALFORMED;
	if (memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL)
		return JWT_ERR_MALFORMED;
	pt->h = token;
	pt->hlen = (size_t)(d1 - token);
	pt->p = d1 + 1;
	pt->plen = (size_t)(d2 - d1 - 1);
	pt->s = d2 + 1;
	pt->slen = (size_t)(end - d2 - 1);
	/* An empty payload is a valid JWS (and then fails as claims); empty header or signature not. */
	if (pt->hlen == 0 || pt->slen == 0)
		return JWT_ERR_MALFORMED;
	return 0;
}

/* Decode the protected header: its alg (which must be one we support) and kid ("" if none). */
static int
header_parse(const struct parts *pt, enum jwt_alg *alg, char kid[JWT_KID_MAX + 1])
{
	unsigned char buf[JWT_TOKEN_MAX];
	json_t *o = NULL, *a, *k;
	ssize_t n;
	int rv = JWT_ERR_MALFORMED;

	kid[0] = '\0';
	if ((n = b64url_decode(pt->h, pt->hlen, buf, sizeof(buf))) < 0)
		goto out;
	o = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o))
		goto out;
	a = json_object_get(o, "alg");
	k = json_object_get(o, "kid");
	/* Extensions marked critical (RFC 7515 §4.1.11) change the meaning: we know none. */
	if (!json_is_string(a) || (k != NULL && !json_is_string(k)) ||
	    json_object_get(o, "crit") != NULL)
		goto out;
	/* "none", HS* and everything else unsupported end here, before any key is chosen. */
	rv = JWT_ERR_ALG;
	if ((*alg = jwt_alg_parse(json_string_value(a))) == 0)
		goto out;
	rv = JWT_ERR_UNKNOWN_KEY;
	if (k != NULL) {
		if (json_string_length(k) > JWT_KID_MAX)
			goto out;
		strcpy(kid, json_string_value(k));
	}
	rv = 0;
out:
	json_decref(o);
	return rv;
}

/* The signature as GnuTLS verifies it for alg into *out (sig is reused or a new DER buffer that
 * *owned says to gnutls_free). JWT_ERR_SIGNATURE when it cannot be one. */
static int
sig_prepare(enum jwt_alg alg, const unsigned char *sig, size_t len, gnutls_datum_t *out, int *owned)
{
	gnutls_datum_t r, s;

	*owned = 0;
	out->data = (unsigned char *)(uintptr_t)sig;
	out->size = (unsigned int)len;
	switch (alg) {
	case JWT_ALG_EDDSA: return len == ED25519_SIG_LEN ? 0 : JWT_ERR_SIGNATURE;
	case JWT_ALG_RS256: return 0;
	case JWT_ALG_ES256:
		if (len != ES256_SIG_LEN)
			return JWT_ERR_SIGNATURE;
		/* DER INTEGERs are minimal: strip leading zero bytes (GnuTLS adds the sign byte). */
		r.data = (unsigned char *)(uintptr_t)sig;
		r.size = ES256_SIG_LEN / 2;
		s.data = r.data + r.size;
		s.size = ES256_SIG_LEN / 2;
		while (r.size > 1 && r.data[0] == 0) {
			r.data++;
			r.size--;
		}
		while (s.size > 1 && s.data[0] == 0) {
			s.data++;
			s.size--;
		}
		if (gnutls_encode_rs_value(out, &r, &s) < 0)
			return JWT_ERR_INTERNAL;
		*owned = 1;
		return 0;
	}
	return JWT_ERR_ALG;
}

static int
key_verify(const struct jwt_key *k, const gnutls_datum_t *input, const gnutls_datum_t *sig)
{
	gnutls_sign_algorithm_t algo;

	switch (k->alg) {
	case JWT_ALG_EDDSA:
		/* libsodium (jwtkey.h says why); it also refuses non-canonical and small-order
		 * encodings, which RFC 8032 verifiers may let through. */
		return sig->size == crypto_sign_ed25519_BYTES &&
		    crypto_sign_ed25519_verify_detached(
			sig->data, input->data, input->size, k->ed25519) == 0;
	case JWT_ALG_ES256: algo = GNUTLS_SIGN_ECDSA_SHA256; break;
	case JWT_ALG_RS256: algo = GNUTLS_SIGN_RSA_SHA256; break;
	default: return 0;
	}
	return gnutls_pubkey_verify_data2(k->pub, algo, 0, input, sig) >= 0;
}

ssize_t
jwt_verify_signature(const struct jwt_keyset *ks, const char *token, size_t len,
    unsigned char *payload, size_t cap, const struct jwt_key **key)
{
	unsigned char sigbuf[SIG_MAX];
	char kid[JWT_KID_MAX + 1];
	struct parts pt;
	enum jwt_alg alg;
	gnutls_datum_t input, sig = {NULL, 0};
	const struct jwt_key *k = NULL;
	ssize_t n = 0, slen;
	int rv, owned = 0, any = 0;

	if (key != NULL)
		*key = NULL;
	if ((rv = parts_split(token, len, &pt)) < 0 || (rv = header_parse(&pt, &alg, kid)) < 0)
		goto out;
	/* The cheap checks first: both remaining parts must decode before any crypto runs. */
	rv = JWT_ERR_MALFORMED;
	if ((slen = b64url_decode(pt.s, pt.slen, sigbuf, sizeof(sigbuf))) < 0)
		goto out;
	rv = JWT_ERR_TOO_LONG;
	if (pt.plen / 4 * 3 + (pt.plen % 4 ? pt.plen % 4 - 1 : 0) > cap)
		goto out;
	rv = JWT_ERR_MALFORMED;
	if ((n = b64url_decode(pt.p, pt.plen, payload, cap)) < 0)
		goto out;
	/* Which keys may have signed, before the signature is even looked at. */
	if (kid[0] != '\0') {
		rv = JWT_ERR_UNKNOWN_KEY;
		if ((k = jwt_keyset_find(ks, kid)) == NULL)
			goto out;
		rv = JWT_ERR_ALG;
		if (k->alg != alg)
			goto out;
	} else {
		for (size_t i = 0; i < ks->n && !any; i++)
			any = ks->keys[i].alg == alg;
		rv = JWT_ERR_ALG;
		if (!any)
			goto out;
		any = 0;
		for (size_t i = 0; i < ks->n && !any; i++)
			any = ks->keys[i].alg == alg && ks->keys[i].kidless;
		rv = JWT_ERR_UNKNOWN_KEY;
		if (!any)
			goto out;
	}
	if ((rv = sig_prepare(alg, sigbuf, (size_t)slen, &sig, &owned)) < 0)
		goto out;
	input.data = (unsigned char *)(uintptr_t)token;
	input.size = (unsigned int)(pt.hlen + 1 + pt.plen);
	if (k != NULL) {
		if (!key_verify(k, &input, &sig))
			k = NULL;
	} else {
		/* Outside issuers name no key: any of theirs pinned to this algorithm may have
		 * signed. The newest few only, or every key added would cost each such token one
		 * more signature check. */
		int tries = 0;

		for (size_t i = ks->n; i-- > 0 && tries < JWT_KIDLESS_TRIES;) {
			if (ks->keys[i].alg != alg || !ks->keys[i].kidless)
				continue;
			tries++;
			if (key_verify(&ks->keys[i], &input, &sig)) {
				k = &ks->keys[i];
				break;
			}
		}
	}
	rv = JWT_ERR_SIGNATURE;
	if (k == NULL)
		goto out;
	if (key != NULL)
		*key = k;
	rv = 0;
out:
	if (owned)
		gnutls_free(sig.data);
	return rv < 0 ? rv : n;
}

/* Copy the string claim name of o, when present, into buf (JWT_STR_MAX + 1 bytes). */
static int
claim_string(json_t *o, const char *name, char *buf)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > JWT_STR_MAX)
		return -1;
	strcpy(buf, json_string_value(v));
	return 0;
}

/* The integer claim name of o into *val, setting flag in *has when present: a time from min to
 * JWT_TIME_MAX (later ones are absurd, and no clock can print them). */
static int
claim_int(json_t *o, const char *name, int64_t min, int64_t *val, unsigned *has, unsigned flag)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > JWT_TIME_MAX)
		return -1;
	*val = json_integer_value(v);
	*has |= flag;
	return 0;
}

int
jwt_claims_parse(const unsigned char *payload, size_t len, struct jwt_claims *out)
{
	json_t *o, *v;
	unsigned has = 0;
	size_t i;
	int rv = JWT_ERR_MALFORMED;

	memset(out, 0, sizeof(*out));
	o = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o))
		goto out;
	rv = JWT_ERR_CLAIMS;
	v = json_object_get(o, "pssid");
	/* jansson refuses \u0000 (no JSON_ALLOW_NUL): the C string is the whole value. */
	if (!json_is_string(v) || json_string_length(v) > PSSID_MAX ||
	    !pssid_uuid(json_string_value(v)))
		goto out;
	strcpy(out->pssid, json_string_value(v));
	if ((v = json_object_get(o, "exp")) == NULL ||
	    claim_int(o, "exp", 1, &out->exp, &has, 0) < 0 ||
	    claim_int(o, "nbf", 0, &out->nbf, &has, JWT_HAS_NBF) < 0 ||
	    claim_int(o, "iat", 0, &out->iat, &has, JWT_HAS_IAT) < 0 ||
	    claim_string(o, "jti", out->jti) < 0 || claim_string(o, "iss", out->iss) < 0 ||
	    claim_string(o, "sub", out->sub) < 0)
		goto out;
	/* RFC 7519 §4.1.3: one audience as a string, or an array of them. */
	if ((v = json_object_get(o, "aud")) != NULL && json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++)
			if (!json_is_string(json_array_get(v, i)))
				goto out;
		has |= JWT_HAS_AUD_LIST;
	} else if (claim_string(o, "aud", out->aud) < 0) {
		goto out;
	}
	out->has = has;
	rv = 0;
out:
	json_decref(o);
	if (rv < 0)
		memset(out, 0, sizeof(*out));
	return rv;
}

/* The pins of key k against the claims c parsed from payload (len bytes; reread for an "aud"
 * array, which c does not hold). 0, JWT_ERR_ISS or JWT_ERR_AUD. */
static int
pins_check(
    const struct jwt_key *k, const unsigned char *payload, size_t len, const struct jwt_claims *c)
{
	json_t *o, *v;
	size_t i;
	int found = 0;

	if (k->iss[0] != '\0' && strcmp(c->iss, k->iss) != 0)
		return JWT_ERR_ISS;
	if (k->aud[0] == '\0')
		return 0;
	if (!(c->has & JWT_HAS_AUD_LIST))
		return strcmp(c->aud, k->aud) == 0 ? 0 : JWT_ERR_AUD;
	/* jwt_claims_parse() has read this payload: an object whose "aud" holds strings only. */
	if ((o = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return JWT_ERR_AUD;
	v = json_object_get(o, "aud");
	for (i = 0; i < json_array_size(v) && !found; i++)
		found = strcmp(json_string_value(json_array_get(v, i)), k->aud) == 0;
	json_decref(o);
	return found ? 0 : JWT_ERR_AUD;
}

int
jwt_verify(
    const struct jwt_keyset *ks, const char *token, size_t len, int64_t now, struct jwt_claims *out)
{
	unsigned char payload[JWT_TOKEN_MAX];
	const struct jwt_key *key;
	ssize_t n;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((n = jwt_verify_signature(ks, token, len, payload, sizeof(payload), &key)) < 0)
		return (int)n;
	if ((rv = jwt_claims_parse(payload, (size_t)n, out)) < 0)
		return rv;
	strcpy(out->kid, key->kid);
	if ((rv = pins_check(key, payload, (size_t)n, out)) < 0) {
		memset(out, 0, sizeof(*out));
		return rv;
	}
	/* exp, nbf and iat are in 0..JWT_TIME_MAX: these differences cannot overflow, whatever
	 * now is. */
	if (now > out->exp)
		rv = JWT_ERR_EXPIRED;
	else if (out->exp - JWT_LIFETIME_MAX > now)
		rv = JWT_ERR_LIFETIME;
	else if ((out->has & JWT_HAS_NBF) && now < out->nbf)
		rv = JWT_ERR_NOT_YET_VALID;
	else if ((out->has & JWT_HAS_IAT) && out->iat - JWT_IAT_SKEW > now)
		rv = JWT_ERR_NOT_YET_VALID;
	if (rv < 0)
		memset(out, 0, sizeof(*out));
	return rv;
}

ssize_t
jwt_sign_payload(const struct jwt_signer *s, const void *payload, size_t len, char *out, size_t cap)
{
	char header[HEADER_MAX];
	json_t *h;
	gnutls_datum_t input, sig = {NULL, 0};
	size_t hn, total, pos;
	ssize_t rv = JWT_ERR_INTERNAL;

	h = json_pack("{s:s, s:s}", "alg", "EdDSA", "typ", "JWT");
	if (h == NULL ||
	    (s->kid[0] != '\0' && json_object_set_new(h, "kid", json_string(s->kid)) < 0))
		goto out;
	if ((hn = json_dumpb(h, header, sizeof(header), JSON_COMPACT)) == 0 || hn > sizeof(header))
		goto out;
	rv = JWT_ERR_TOO_LONG;
	if (len > JWT_TOKEN_MAX)
		goto out;
	total = B64URL_LEN(hn) + 1 + B64URL_LEN(len) + 1 + B64URL_LEN(ED25519_SIG_LEN);
	if (total > JWT_TOKEN_MAX || total >= cap)
		goto out;
	b64url_encode((const unsigned char *)header, hn, out);
	pos = B64URL_LEN(hn);
	out[pos++] = '.';
	b64url_encode(payload, len, out + pos);
	pos += B64URL_LEN(len);
	input.data = (unsigned char *)out;
	input.size = (unsigned int)pos;
	rv = JWT_ERR_INTERNAL;
	if (gnutls_privkey_sign_data2(s->priv, GNUTLS_SIGN_EDDSA_ED25519, 0, &input, &sig) < 0 ||
	    sig.size != ED25519_SIG_LEN)
		goto out;
	out[pos++] = '.';
	b64url_encode(sig.data, sig.size, out + pos);
	rv = (ssize_t)total;
out:
	gnutls_free(sig.data);
	json_decref(h);
	return rv;
}

/* Set the string claim name to buf (of size bytes) when non-empty. */
static int
set_string(json_t *o, const char *name, const char *buf, size_t size)
{
	if (memchr(buf, '\0', size) == NULL)
		return -1;
	if (buf[0] == '\0')
		return 0;
	/* json_string() is NULL for invalid UTF-8, and set_new() then fails. */
	return json_object_set_new(o, name, json_string(buf));
}

ssize_t
jwt_sign(const struct jwt_signer *s, const struct jwt_claims *c, char *out, size_t cap)
{
	char claims[JWT_TOKEN_MAX];
	json_t *o = NULL;
	size_t n;
	ssize_t rv = JWT_ERR_CLAIMS;

	if (memchr(c->pssid, '\0', sizeof(c->pssid)) == NULL || !pssid_uuid(c->pssid) ||
	    c->exp < 1 || c->exp > JWT_TIME_MAX ||
	    ((c->has & JWT_HAS_NBF) && (c->nbf < 0 || c->nbf > JWT_TIME_MAX)) ||
	    ((c->has & JWT_HAS_IAT) && (c->iat < 0 || c->iat > JWT_TIME_MAX)))
		goto out;
	rv = JWT_ERR_INTERNAL;
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "pssid", json_string(c->pssid)) < 0 ||
	    json_object_set_new(o, "exp", json_integer(c->exp)) < 0)
		goto out;
	if (((c->has & JWT_HAS_NBF) && json_object_set_new(o, "nbf", json_integer(c->nbf)) < 0) ||
	    ((c->has & JWT_HAS_IAT) && json_object_set_new(o, "iat", json_integer(c->iat)) < 0))
		goto out;
	rv = JWT_ERR_CLAIMS;
	if (set_string(o, "jti", c->jti, sizeof(c->jti)) < 0 ||
	    set_string(o, "iss", c->iss, sizeof(c->iss)) < 0 ||
	    set_string(o, "aud", c->aud, sizeof(c->aud)) < 0 ||
	    set_string(o, "sub", c->sub, sizeof(c->sub)) < 0)
		goto out;
	rv = JWT_ERR_TOO_LONG;
	if ((n = json_dumpb(o, claims, sizeof(claims), JSON_COMPACT)) == 0 || n > sizeof(claims))
		goto out;
	rv = jwt_sign_payload(s, claims, n, out, cap);
out:
	json_decref(o);
	return rv;
}
