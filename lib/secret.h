/* Bearer secrets: generated from 32 random bytes, shown once, stored as SHA-256 (hex). */
#ifndef LIB_SECRET_H
#define LIB_SECRET_H

#include <stddef.h>

#define SECRET_RAW_LEN 32
/* prefix (up to 7 chars) + 43 base64url characters + NUL */
#define SECRET_STRLEN (8 + 43 + 1)
#define SECRET_HASH_STRLEN (64 + 1)

/* A new secret "<prefix><base64url(32 random bytes)>" into buf (SECRET_STRLEN). 0 or -1. */
int secret_new(const char *prefix, char *buf);

/* A secret "<prefix><base64url(HMAC-SHA256(key, msg))>" into buf (SECRET_STRLEN): the same key
 * and message give the same secret, and nobody without the key can compute it. 0 or -1. */
int secret_derive(const char *prefix, const char *key, const char *msg, char *buf);

/* Lower-case hex SHA-256 of the len bytes of s into hex (SECRET_HASH_STRLEN). A failure of
 * SHA-256 (GnuTLS unusable) is fatal: no secret could be checked. */
void secret_hash(const char *s, size_t len, char *hex);

/* Fill buf with len random bytes from the system's CSPRNG; 0 or -1. */
int secret_random(void *buf, size_t len);

#endif
