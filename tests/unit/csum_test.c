/* lib/csum.c: the word-at-a-time sum against a byte-at-a-time one (tcppkt.h's, written apart),
 * over every length up to 300 at every alignment, from several starting sums, and in pieces. */
#include <stdlib.h>

#include "../../lib/csum.h"
#include "check.h"
#include "tcppkt.h"

int
main(void)
{
	static const uint32_t starts[] = {0, 1, 0xffff, 0x1fffe, 0xffffffff};
	uint8_t buf[320];
	unsigned bad = 0, cases = 0, pieces_bad = 0;

	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	buf[100] = buf[101] = 0xff; /* runs of ones: the carries */
	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++)
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len <= 300; len++) {
				uint64_t want = tcppkt_sum(buf + off, len, 0);
				uint64_t st = starts[s];

				/* the starting sum added and folded as the reference folds */
				want += st;
				while (want >> 16)
					want = (want & 0xffff) + (want >> 16);
				if (csum_fold(csum_add(starts[s], buf + off, len)) !=
				    (uint16_t)~want)
					bad++;
				cases++;
			}
	CHECK_EQ_INT(bad, 0, "csum_add agrees with a byte-wise sum in %u cases", cases);
	for (size_t cut = 0; cut <= 200; cut += 2)
		if (csum_fold(csum_add(csum_add(0, buf, cut), buf + cut, 200 - cut)) !=
		    csum_fold(csum_add(0, buf, 200)))
			pieces_bad++;
	CHECK_EQ_INT(pieces_bad, 0, "a sum in two even pieces is the sum of the whole");
	CHECK_EQ_INT(
	    csum_fold(csum_add(0, (const uint8_t[]){0x45, 0x00}, 2)), 0xbaff, "a known value");
	return check_done();
}
