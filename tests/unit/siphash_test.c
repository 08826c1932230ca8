/* SipHash-2-4 against the reference vectors of the paper and its reference code
 * (vectors_sip64): key 00 01 .. 0f, message 00 01 .. (len-1), for len 0 .. 63. */
#include <string.h>

#include "../../lib/siphash.h"
#include "check.h"

/* The reference outputs, each the 8 output bytes read little-endian. */
static const uint64_t want[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, /* 0, 1 */
    0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull, /* 2, 3 */
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, /* 4, 5 */
    0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, /* 6, 7 */
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, /* 8, 9 */
    0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull, /* 10, 11 */
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, /* 12, 13 */
    0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull, /* 14, 15 */
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, /* 16, 17 */
    0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull, /* 18, 19 */
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, /* 20, 21 */
    0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull, /* 22, 23 */
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, /* 24, 25 */
    0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull, /* 26, 27 */
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, /* 28, 29 */
    0xad87a3535c49ef28ull, 0x32d892fad841c342ull, /* 30, 31 */
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, /* 32, 33 */
    0x12e0b01abb051238ull, 0x15e034d40fa197aeull, /* 34, 35 */
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, /* 36, 37 */
    0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull, /* 38, 39 */
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, /* 40, 41 */
    0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull, /* 42, 43 */
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, /* 44, 45 */
    0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull, /* 46, 47 */
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, /* 48, 49 */
    0xee64435a9752fe72ull, 0xa192d576b245165aull, /* 50, 51 */
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, /* 52, 53 */
    0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull, /* 54, 55 */
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, /* 56, 57 */
    0x60e61c23a3795013ull, 0x6606d7e446282b93ull, /* 58, 59 */
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, /* 60, 61 */
    0xe51b38608ef25f57ull, 0x958a324ceb064572ull, /* 62, 63 */
};

int
main(void)
{
	unsigned char key[SIPHASH_KEY_LEN], msg[64], big[64 + 8];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	for (size_t len = 0; len < 64; len++)
		CHECK(siphash24(key, msg, len) == want[len], "vector %zu (message 00..%02zx)", len,
		    len ? len - 1 : 0);

	/* An unaligned message hashes the same: the loads are bytewise. */
	memcpy(big + 3, msg, 63);
	CHECK(siphash24(key, big + 3, 63) == want[63], "vector 63 from an unaligned buffer");

	/* The key matters: another key gives another hash of the same message. */
	key[15] ^= 1;
	CHECK(siphash24(key, msg, 15) != want[15], "a different key, a different hash");
	return check_done();
}
