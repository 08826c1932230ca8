/* Fuzzes the cutting of TCP super-packets (lib/gso.h). The first 10 bytes are the struct
 * vnethdr as a TUN device would put it, the rest the packet, in a heap copy of exactly its
 * length; segments go into a heap buffer of exactly the room given (ASan catches a read or
 * write past either). Invariants: without GSO only the checksum field changes and the checksum
 * is then right; a super-packet's segments each parse as a whole TCP packet with right
 * checksums and lengths, carry the input's headers otherwise, follow its sequence numbers, and
 * their payloads put together are the input's payload. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/gso.h"
#include "../unit/tcppkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOM 1600 /* segments larger than this are refused, the rest of the packet given up */

static void
check_segments(struct gso *g, const uint8_t *in, size_t len)
{
	struct tcpip t, ti;
	uint8_t *out = malloc(ROOM);
	size_t off, hdrlen;
	ssize_t n;

	if (tcpip_parse(in, len, &ti) != 0)
		abort(); /* gso_start took it: it must parse */
	hdrlen = ti.hdrlen;
	off = hdrlen;
	while ((n = gso_next(g, out, ROOM)) != 0) {
		size_t seglen;

		if (n < 0)
			break; /* over the room: given up */
		seglen = (size_t)n;
		if (seglen > ROOM || tcpip_parse(out, seglen, &t) != 0 || t.hdrlen != hdrlen ||
		    !tcpip_lengths_ok(out, seglen, &t) || !tcppkt_csums_ok(out, seglen))
			abort();
		/* the payload continues the input's, at the sequence number that says so */
		if (seglen - hdrlen > len - off ||
		    memcmp(out + hdrlen, in + off, seglen - hdrlen) != 0)
			abort();
		if (be_get32(out + t.iphlen + 4) !=
		    be_get32(in + t.iphlen + 4) + (uint32_t)(off - hdrlen))
			abort();
		/* the headers are the input's but for lengths, identification, checksums,
		 * sequence number and flags */
		if (memcmp(out + t.iphlen, in + t.iphlen, 4) != 0 ||
		    memcmp(out + t.iphlen + 8, in + t.iphlen + 8, 5) != 0 ||
		    memcmp(out + t.iphlen + 14, in + t.iphlen + 14, 2) != 0 ||
		    memcmp(out + t.iphlen + 18, in + t.iphlen + 18, hdrlen - t.iphlen - 18) != 0)
			abort();
		if (t.v6 ? memcmp(out, in, 4) != 0 || memcmp(out + 6, in + 6, 34) != 0
			 : memcmp(out, in, 2) != 0 || memcmp(out + 6, in + 6, 4) != 0 ||
			    memcmp(out + 12, in + 12, t.iphlen - 12) != 0)
			abort();
		off += seglen - hdrlen;
		if (seglen == hdrlen)
			break; /* the one empty segment of a packet without payload */
	}
	if (n == 0 && off != len)
		abort(); /* the whole payload, put together */
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vnethdr h;
	struct gso g;
	uint8_t *pkt, *orig;
	size_t len;
	int rv;

	if (size < VNETHDR_LEN)
		return 0;
	vnethdr_get(data, &h);
	len = size - VNETHDR_LEN;
	pkt = malloc(len ? len : 1);
	orig = malloc(len ? len : 1);
	memcpy(pkt, data + VNETHDR_LEN, len);
	memcpy(orig, pkt, len);
	rv = gso_start(&g, &h, pkt, len);
	if (rv == 0 && (h.flags & VNETHDR_F_NEEDS_CSUM)) {
		size_t at = (size_t)h.csum_start + h.csum_offset;

		/* only the checksum field changed */
		if (memcmp(pkt, orig, at) != 0 || memcmp(pkt + at + 2, orig + at + 2, len - at - 2))
			abort();
	} else if (rv == 0 && memcmp(pkt, orig, len) != 0) {
		abort();
	} else if (rv == 1) {
		check_segments(&g, pkt, len);
	} else if (rv < 0 && memcmp(pkt, orig, len) != 0) {
		abort(); /* refused: untouched */
	}
	free(pkt);
	free(orig);
	return 0;
}
