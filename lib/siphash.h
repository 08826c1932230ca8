/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): the hash for
 * tables whose keys an outsider can choose (connection IDs, addresses, pssids). Under a secret
 * random key per table, nobody can pick keys that pile into one chain. */
#ifndef LIB_SIPHASH_H
#define LIB_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* SipHash-2-4 of the len bytes at data under key (the paper's byte order: key and message are
 * read little-endian, so the result is the same on every host). */
uint64_t siphash24(const unsigned char key[SIPHASH_KEY_LEN], const void *data, size_t len);

#endif
