#include "csum.h"

uint32_t
csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t s = sum;
	size_t i;

	/* 64 bits hold the words of any buffer a process can have; fold back to 17 bits so that
	 * the caller may add again. */
	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (i < len)
		s += (uint32_t)b[i] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
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
