/* base64url without padding (RFC 4648 §5), as JWTs and our secrets use it. */
#ifndef LIB_B64URL_H
#define LIB_B64URL_H

#include <stddef.h>
#include <sys/types.h>

/* Length of the encoding of n bytes, without the NUL. */
#define B64URL_LEN(n) (((n)*4 + 2) / 3)

/* Encode len bytes into out (B64URL_LEN(len) + 1 bytes, NUL-terminated). */
void b64url_encode(const unsigned char *in, size_t len, char *out);

/* Decode exactly inlen characters into out (capacity outcap). Padding, characters outside the
 * alphabet, an impossible length or non-zero trailing bits are errors. Returns the decoded
 * length or -1. */
ssize_t b64url_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap);

#endif
