/* Signing keys sealed in their rows (see keyseal.h). */
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "../db/signkey.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "keyseal.h"

int
keyseal_seal(const struct jwt_signer *s, const unsigned char key[SEAL_KEY_LEN], char **sealed)
{
	char *pem = NULL;
	size_t len = 0;
	int rv;

	*sealed = NULL;
	if ((rv = jwt_signer_pem(s, &pem, &len)) == 0 &&
	    (rv = seal_text(key, s->kid, pem, len, sealed)) < 0)
		log_error("cannot seal the signing key %s: %s", s->kid, err_str(rv));
	else if (rv < 0)
		log_error("cannot write the signing key %s as PEM: %s", s->kid, err_str(rv));
	if (pem != NULL) {
		gnutls_memset(pem, 0, len);
		free(pem);
	}
	return rv == ERR_NOMEM || rv == 0 ? rv : ERR_DB;
}

int
keyseal_open(
    struct db *db, const unsigned char key[SEAL_KEY_LEN], const char *kid, struct jwt_signer **out)
{
	char sealed[SEAL_TEXT_MAX + 1];
	unsigned char *pem = NULL;
	size_t len = 0;
	int rv;

	*out = NULL;
	if ((rv = signkey_sealed(db, kid, sealed, sizeof(sealed))) < 0) {
		if (rv == ERR_NOT_FOUND || rv == ERR_LIMIT)
			log_error("the signing key %s has %s in the store", kid,
			    rv == ERR_LIMIT ? "a damaged private half (longer than a sealed key)"
					    : "no sealed private half");
		return rv == ERR_NOT_FOUND || rv == ERR_LIMIT ? ERR_DB : rv;
	}
	rv = seal_open(key, kid, sealed, strlen(sealed), &pem, &len);
	if (rv == ERR_NOMEM)
		return rv;
	if (rv == ERR_DENIED)
		log_error(
		    "the private half of the signing key %s does not open with this manager's "
		    "store secret: another secret sealed it, or its row was altered",
		    kid);
	else if (rv < 0)
		log_error("the private half of the signing key %s in the store is damaged (%s)",
		    kid, rv == ERR_INVALID ? "not a sealed key" : err_str(rv));
	else if ((rv = jwt_signer_from_pem(kid, (const char *)pem, len, out)) < 0)
		log_error(
		    "the private half of the signing key %s is not an Ed25519 private key", kid);
	if (pem != NULL) {
		gnutls_memset(pem, 0, len);
		free(pem);
	}
	return rv == 0 || rv == ERR_NOMEM ? rv : ERR_DB;
}
