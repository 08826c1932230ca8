/* Small secrets sealed for keeping in a store (the private halves of the token signing keys)
 * under a 32-byte key-encryption key: AES-256-GCM with a fresh random nonce for every seal and
 * the caller's associated data (the row's key id), so that a sealed text opens only under the
 * same key and for the same row: a copy moved to another row, an altered or truncated text and
 * another key are all refused alike. The text form is "s1." and base64url(nonce | ciphertext |
 * tag), at most SEAL_TEXT_MAX characters; the reader bounds what it is handed before decoding.
 * Functions return 0 or a negative enum err (lib/err.h); nothing is logged. */
#ifndef LIB_SEAL_H
#define LIB_SEAL_H

#include <stddef.h>

#include "b64url.h"

#define SEAL_KEY_LEN 32
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_PLAIN_MAX 4096 /* an Ed25519 private key in PEM is about 120 bytes */
#define SEAL_PREFIX "s1."
/* The longest text, without its NUL. */
#define SEAL_TEXT_MAX \
	(sizeof(SEAL_PREFIX) - 1 + B64URL_LEN(SEAL_NONCE_LEN + SEAL_PLAIN_MAX + SEAL_TAG_LEN))
/* A key's id: base64url of 12 bytes of HMAC-SHA256(key, a fixed label), and a NUL. */
#define SEAL_KEY_ID_STRLEN (16 + 1)

/* Seal the len bytes at plain (1 to SEAL_PLAIN_MAX) under key with the associated data ad (a
 * NUL-terminated string) into *text (NUL-terminated; free() it). 0, ERR_INVALID (len out of
 * range), ERR_NOMEM, ERR_DB (no randomness, or the cipher failed). */
int seal_text(const unsigned char key[SEAL_KEY_LEN], const char *ad, const void *plain, size_t len,
    char **text);

/* Open the len characters at text (need not be NUL-terminated) sealed by seal_text() under key
 * for ad. On success *plain (free() it; the caller wipes it) holds *plainlen bytes and a NUL
 * after them. 0, ERR_INVALID (not a sealed text: prefix, length or alphabet), ERR_DENIED (it
 * does not open: another key, another ad, or altered), ERR_NOMEM, ERR_DB (the cipher failed). */
int seal_open(const unsigned char key[SEAL_KEY_LEN], const char *ad, const char *text, size_t len,
    unsigned char **plain, size_t *plainlen);

/* The id of key into id (SEAL_KEY_ID_STRLEN): what a store keeps to know which key sealed it
 * without keeping the key; nobody can get the key back from it. 0 or ERR_DB. */
int seal_key_id(const unsigned char key[SEAL_KEY_LEN], char id[SEAL_KEY_ID_STRLEN]);

#endif
