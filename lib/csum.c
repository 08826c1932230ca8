#include <string.h>

#include "csum.h"

uint32_t
csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t s = 0;
	uint16_t w;

	/* Words are added in the host's byte order, eight bytes a step: the ones' complement sum
	 * commutes with swapping the bytes of every word (RFC 1071 2.B), so the folded result is
	 * swapped once at the end. Every TCP segment the TUN offloads split or join is summed
	 * here, so this loop is the checksum cost per byte. 64 bits hold the words of any buffer
	 * a process can have. */
	for (; len >= 8; b += 8, len -= 8) {
		uint32_t a, c;

		memcpy(&a, b, 4);
		memcpy(&c, b + 4, 4);
		s += (uint64_t)a + c;
	}
	for (; len >= 2; b += 2, len -= 2) {
		memcpy(&w, b, 2);
		s += w;
	}
	if (len == 1) {
		uint8_t odd[2] = {b[0], 0}; /* an odd last byte is padded with a zero byte */

		memcpy(&w, odd, 2);
		s += w;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = ((s & 0xff) << 8) | (s >> 8);
#endif
	/* fold back to 17 bits so that the caller may add again */
	s += sum;
	while (s >> 17)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
