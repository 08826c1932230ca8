/* The gateway's TLS identity: the shared TLS identity files (lib/tlscert.h) under the gateway's
 * name. */
#include "../../lib/tlscert.h"
#include "quic.h"

_Static_assert(QUIC_SPKI_PIN_LEN == TLSCERT_PIN_LEN, "one pin for both");

int
quic_cert_ensure(const char *cert_file, const char *key_file)
{
	return tlscert_ensure(cert_file, key_file, "snaptun-agent");
}

int
quic_cert_spki_pin(const char *cert_file, unsigned char pin[QUIC_SPKI_PIN_LEN])
{
	return tlscert_spki_pin(cert_file, pin);
}
