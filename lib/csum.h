/* The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
 * words in network order. Sums are carried in 32 bits and folded at the end, so that several
 * pieces (a pseudo-header, then the payload) add up without copying. */
#ifndef LIB_CSUM_H
#define LIB_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add the len bytes at p to sum (an odd last byte is padded with a zero byte, so every piece but
 * the last must have an even length); any length, any sum. */
uint32_t csum_add(uint32_t sum, const void *p, size_t len);

/* The checksum of a sum: fold the carries and complement. */
uint16_t csum_fold(uint32_t sum);

#endif
