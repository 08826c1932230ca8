/* Fuzzes the ip-mode packet parser (agent/ippkt.h): each input is one datagram, in a heap copy
 * of exactly its length (ASan catches any read past it). Invariants: never a crash; an accepted
 * packet is IPv4 or IPv6 with a header inside the datagram and a length field that accounts for
 * every byte; the addresses are the bytes at their offsets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/ippkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	struct ippkt ip;

	memcpy(p, data, size);
	if (ippkt_parse(p, size, &ip) == 0) {
		if (ip.family == 4) {
			if (ip.hdr_len < 20 || ip.hdr_len > size ||
			    ((size_t)p[2] << 8 | p[3]) != size || memcmp(ip.src.b, p + 12, 4) ||
			    memcmp(ip.dst.b, p + 16, 4))
				__builtin_trap();
		} else if (ip.family == 6) {
			if (size < 40 || ((size_t)p[4] << 8 | p[5]) + 40 != size ||
			    memcmp(ip.src.b, p + 8, 16) || memcmp(ip.dst.b, p + 24, 16))
				__builtin_trap();
		} else {
			__builtin_trap();
		}
	}
	free(p);
	return 0;
}
