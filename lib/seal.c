/* Sealing small secrets under a key-encryption key (see seal.h). */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "seal.h"
#include "secret.h"

#define PREFIX_LEN (sizeof(SEAL_PREFIX) - 1)
#define RAW_MAX (SEAL_NONCE_LEN + SEAL_PLAIN_MAX + SEAL_TAG_LEN)
/* Fixed for ever: changing it changes every store's key id. */
#define KEY_ID_LABEL "snaptun store secret id v1"
#define KEY_ID_RAW 12

/* An AES-256-GCM handle for key (gnutls_aead_cipher_deinit()). 0 or ERR_DB. */
static int
cipher_of(const unsigned char key[SEAL_KEY_LEN], gnutls_aead_cipher_hd_t *h)
{
	gnutls_datum_t k = {(unsigned char *)(uintptr_t)key, SEAL_KEY_LEN};

	return gnutls_aead_cipher_init(h, GNUTLS_CIPHER_AES_256_GCM, &k) < 0 ? ERR_DB : 0;
}

int
seal_text(const unsigned char key[SEAL_KEY_LEN], const char *ad, const void *plain, size_t len,
    char **text)
{
	gnutls_aead_cipher_hd_t h = NULL;
	unsigned char *raw = NULL;
	size_t ctlen = len + SEAL_TAG_LEN;
	int rv = ERR_INVALID;

	*text = NULL;
	if (len == 0 || len > SEAL_PLAIN_MAX)
		return rv;
	rv = ERR_NOMEM;
	if ((raw = malloc(SEAL_NONCE_LEN + ctlen)) == NULL ||
	    (*text = malloc(PREFIX_LEN + B64URL_LEN(SEAL_NONCE_LEN + ctlen) + 1)) == NULL)
		goto out;
	rv = ERR_DB;
	/* A nonce used twice under one GCM key gives the plaintexts' XOR and the MAC key away:
	 * each seal draws its own (2^-96 per pair of seals to collide). */
	if (secret_random(raw, SEAL_NONCE_LEN) < 0 || cipher_of(key, &h) < 0 ||
	    gnutls_aead_cipher_encrypt(h, raw, SEAL_NONCE_LEN, ad, strlen(ad), SEAL_TAG_LEN, plain,
		len, raw + SEAL_NONCE_LEN, &ctlen) < 0 ||
	    ctlen != len + SEAL_TAG_LEN)
		goto out;
	memcpy(*text, SEAL_PREFIX, PREFIX_LEN);
	b64url_encode(raw, SEAL_NONCE_LEN + ctlen, *text + PREFIX_LEN);
	rv = 0;
out:
	if (h != NULL)
		gnutls_aead_cipher_deinit(h);
	free(raw);
	if (rv < 0) {
		free(*text);
		*text = NULL;
	}
	return rv;
}

int
seal_open(const unsigned char key[SEAL_KEY_LEN], const char *ad, const char *text, size_t len,
    unsigned char **plain, size_t *plainlen)
{
	gnutls_aead_cipher_hd_t h = NULL;
	unsigned char *raw = NULL, *out = NULL;
	size_t cap = 0, outlen = 0;
	ssize_t n;
	int rv = ERR_INVALID;

	*plain = NULL;
	*plainlen = 0;
	/* Bounded before anything is allocated: the text comes from a store row. */
	if (len < PREFIX_LEN || len > SEAL_TEXT_MAX || memcmp(text, SEAL_PREFIX, PREFIX_LEN) != 0)
		return rv;
	rv = ERR_NOMEM;
	if ((raw = malloc(RAW_MAX)) == NULL)
		goto out;
	rv = ERR_INVALID;
	n = b64url_decode(text + PREFIX_LEN, len - PREFIX_LEN, raw, RAW_MAX);
	if (n < (ssize_t)(SEAL_NONCE_LEN + SEAL_TAG_LEN + 1))
		goto out;
	outlen = cap = (size_t)n - SEAL_NONCE_LEN - SEAL_TAG_LEN;
	rv = ERR_NOMEM;
	if ((out = malloc(cap + 1)) == NULL)
		goto out;
	rv = ERR_DB;
	if (cipher_of(key, &h) < 0)
		goto out;
	rv = ERR_DENIED;
	if (gnutls_aead_cipher_decrypt(h, raw, SEAL_NONCE_LEN, ad, strlen(ad), SEAL_TAG_LEN,
		raw + SEAL_NONCE_LEN, (size_t)n - SEAL_NONCE_LEN, out, &outlen) < 0 ||
	    outlen > cap)
		goto out;
	out[outlen] = '\0';
	*plain = out;
	*plainlen = outlen;
	out = NULL;
	rv = 0;
out:
	if (h != NULL)
		gnutls_aead_cipher_deinit(h);
	if (out != NULL) {
		gnutls_memset(out, 0, cap + 1);
		free(out);
	}
	free(raw);
	return rv;
}

int
seal_key_id(const unsigned char key[SEAL_KEY_LEN], char id[SEAL_KEY_ID_STRLEN])
{
	unsigned char mac[32];

	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, SEAL_KEY_LEN, KEY_ID_LABEL,
		sizeof(KEY_ID_LABEL) - 1, mac) < 0)
		return ERR_DB;
	b64url_encode(mac, KEY_ID_RAW, id);
	return 0;
}
