/* The IPv4/IPv6 header fields the ip-mode data plane routes by (proto/README.md §1.6): one datagram
 * is one packet. Pure and bounded: reads nothing outside the bytes given (fuzzed by
 * tests/fuzz/fuzz_dataplane.c). */
#ifndef AGENT_IPPKT_H
#define AGENT_IPPKT_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"

#define IPPKT_V4_HDR 20 /* without options */
#define IPPKT_V6_HDR 40

struct ippkt {
	int family; /* 4 or 6 */
	struct addr src, dst;
	uint8_t proto; /* IPv4 protocol / IPv6 next header */
	size_t hdr_len; /* IPv4: IHL * 4; IPv6: 40 */
};

/* Parse the len bytes of pkt as one IPv4 or IPv6 packet into *out. Checks: the version nibble,
 * the header fits (IPv4: IHL >= 5, IHL * 4 <= len), and the length field accounts for exactly
 * len bytes (IPv4 total length == len; IPv6 40 + payload length == len, so no jumbograms).
 * 0, or -1 for anything else (*out is then unspecified). */
int ippkt_parse(const uint8_t *pkt, size_t len, struct ippkt *out);

#endif
