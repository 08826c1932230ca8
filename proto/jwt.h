/* JWT (compact JWS) verification and issuing, shared by the manager (issuer) and the agent
 * (verifier); proto/README.md §1.5. The trusted keys and the issuer key are in jwtkey.h.
 *
 * All signatures are checked and made by GnuTLS directly (EdDSA/Ed25519, ES256 with the JWS r||s
 * signature converted to DER, RS256), with keys imported once: libjwt is not linked. The key
 * decides the algorithm: the header's "alg" must equal the algorithm the key is pinned to, and
 * "none", HS* and anything unsupported are refused before any key is looked at. Claims are
 * checked here (libjwt would check none): "pssid" and "exp" required, "nbf" honoured, the time is
 * a parameter. Tokens are at most JWT_TOKEN_MAX bytes: three base64url parts without padding. */
#ifndef PROTO_JWT_H
#define PROTO_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/pssid.h"
#include "jwtkey.h"

#define JWT_TOKEN_MAX 2048
#define JWT_STR_MAX 255 /* jti, iss, sub, aud: longer values are JWT_ERR_CLAIMS */

/* Time claims (proto/README.md §1.5). exp is 1..JWT_TIME_MAX, nbf and iat 0..JWT_TIME_MAX, or
 * the claims are invalid; a token whose exp is more than JWT_LIFETIME_MAX after now is refused
 * (JWT_ERR_LIFETIME), one whose iat is more than JWT_IAT_SKEW after now is not yet valid. */
#define JWT_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define JWT_LIFETIME_MAX (30 * 24 * 3600) /* 30 days */
#define JWT_IAT_SKEW 60

/* A token without kid is tried against at most this many keys of its alg that may verify such
 * tokens (jwt_keyset_kidless()), the last added first: the work per token stays bounded however
 * many keys the set holds. */
#define JWT_KIDLESS_TRIES 4

/* 0 or one of these; jwt_err_str() gives the text. */
enum jwt_err {
	JWT_OK = 0,
	JWT_ERR_MALFORMED = -1, /* not three base64url parts, bad JSON, duplicate keys, "crit" */
	JWT_ERR_TOO_LONG = -2, /* over JWT_TOKEN_MAX (or, signing, over the caller's buffer) */
	JWT_ERR_ALG = -3, /* none, HS*, unsupported, not the key's algorithm, no key of the alg */
	JWT_ERR_UNKNOWN_KEY = -4, /* no key with the token's kid; no kid and no key of its alg
				   * may verify tokens without one */
	JWT_ERR_SIGNATURE = -5,
	JWT_ERR_EXPIRED = -6, /* now > exp */
	JWT_ERR_NOT_YET_VALID = -7, /* now < nbf, or now + JWT_IAT_SKEW < iat */
	JWT_ERR_CLAIMS = -8, /* pssid or exp missing or invalid, a claim of the wrong type, size
			      * or range */
	JWT_ERR_INTERNAL = -9, /* out of memory, GnuTLS failed: not the token's fault */
	JWT_ERR_LIFETIME = -10, /* exp more than JWT_LIFETIME_MAX after now */
	JWT_ERR_ISS = -11, /* the key is pinned to an issuer: "iss" missing or another */
	JWT_ERR_AUD = -12, /* the key is pinned to an audience: "aud" missing, another, or an
			    * array without it */
};

/* JWT_HAS_* bits of jwt_claims.has */
#define JWT_HAS_NBF 0x1
#define JWT_HAS_IAT 0x2
#define JWT_HAS_AUD_LIST 0x4 /* "aud" was an array (of strings): aud[] is then empty */

/* The claims of a token; the strings are "" when absent. */
struct jwt_claims {
	char pssid[PSSID_MAX + 1];
	int64_t exp;
	int64_t nbf, iat; /* when JWT_HAS_NBF / JWT_HAS_IAT */
	unsigned has;
	char kid[JWT_KID_MAX + 1]; /* verify: the kid of the key that verified; sign: unused */
	char jti[JWT_STR_MAX + 1];
	char iss[JWT_STR_MAX + 1];
	char aud[JWT_STR_MAX + 1]; /* when "aud" is a string */
	char sub[JWT_STR_MAX + 1];
};

const char *jwt_err_str(int err);

/* Verify token (len bytes, need not be NUL-terminated) against ks at Unix time now and fill
 * *out. A token with a kid is verified with that key only; a token without one (or with "") is
 * tried against the last JWT_KIDLESS_TRIES keys of its alg that may verify such tokens. Then the claims: pssid a UUID (pssid_uuid(), lib/pssid.h),
 * exp an integer in range (JWT_TIME_MAX) with now <= exp <= now + JWT_LIFETIME_MAX, nbf (when
 * present) an integer in range with nbf <= now, iat an integer in range with iat <= now +
 * JWT_IAT_SKEW, jti/iss/sub strings, aud a string or an array of strings; others ignored. A key pinned
 * to an issuer or audience (jwt_keyset_pin()) wants exactly that "iss" (else JWT_ERR_ISS), and
 * that "aud" or an "aud" array holding it (else JWT_ERR_AUD). Returns 0 or a negative enum
 * jwt_err; *out is zeroed on failure. */
int jwt_verify(const struct jwt_keyset *ks, const char *token, size_t len, int64_t now,
    struct jwt_claims *out);

/* The signature layer of jwt_verify(): size, parts, header, algorithm, key and signature, then
 * the payload (whatever it is) base64url-decoded into payload (cap bytes; JWT_TOKEN_MAX is
 * enough). *key, when key is non-NULL, is the key that verified. Returns the payload length or a
 * negative enum jwt_err. */
ssize_t jwt_verify_signature(const struct jwt_keyset *ks, const char *token, size_t len,
    unsigned char *payload, size_t cap, const struct jwt_key **key);

/* The claims layer of jwt_verify(): decode the JSON claims set payload (len bytes) into *out (kid
 * left empty) without looking at the time (the ranges of exp, nbf and iat are checked). 0, JWT_ERR_MALFORMED (not a JSON object, duplicate
 * keys) or JWT_ERR_CLAIMS. */
int jwt_claims_parse(const unsigned char *payload, size_t len, struct jwt_claims *out);

/* Issue a token: header {"alg":"EdDSA","typ":"JWT","kid":…} ("kid" when the signer has one),
 * claims pssid and exp, nbf and iat when flagged in c->has, jti, iss, aud and sub when non-empty
 * (c->kid is ignored). The token goes NUL-terminated into out (cap bytes). Returns its length,
 * JWT_ERR_CLAIMS (pssid not a UUID, exp, nbf or iat out of range, a string not NUL-terminated within its buffer or not UTF-8),
 * JWT_ERR_TOO_LONG (over JWT_TOKEN_MAX or cap) or JWT_ERR_INTERNAL. */
ssize_t jwt_sign(const struct jwt_signer *s, const struct jwt_claims *c, char *out, size_t cap);

/* The signature layer of jwt_sign(): the same header, payload (len bytes) as it is. */
ssize_t jwt_sign_payload(
    const struct jwt_signer *s, const void *payload, size_t len, char *out, size_t cap);

#endif
